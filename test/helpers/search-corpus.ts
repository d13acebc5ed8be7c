// A deterministic library for search tests and the search benchmark: words
// drawn with Zipf–Mandelbrot frequencies (p ∝ 1 / (rank + 100)) from ~450
// real English words followed by ~5,000 compounds standing in for the long
// tail of rare terms, so the commonest word is in about a fifth of the
// documents, as in real English text once stop words are removed; titles of 3–9 words, descriptions of 30–220 words, 1–4
// subjects. The same seed gives the same resources (ids included) on every
// dialect, so rankings can be compared id for id.

import type { Knex } from 'knex';

const VOCABULARY = `
history library knowledge science art music language culture theory practice society nature world city river
ancient modern early medieval classical century empire kingdom war peace trade market economy money bank
system network computer software program data database information analysis method model design structure
energy power light water fire earth stone metal wood glass paper book letter word story poem novel author
reader writer teacher student school university college research study experiment evidence result report
health medicine disease doctor hospital body heart brain mind memory dream sleep food farm garden plant tree
flower forest mountain island ocean sea coast harbor ship sail voyage journey travel road bridge tower castle
church temple cathedral palace house home family child mother father brother sister friend stranger enemy
king queen prince princess soldier army battle victory defeat treaty revolution republic government law court
justice crime police prison freedom right duty power politics election party leader minister council state
nation border province village town street market shop merchant craft tool machine engine factory industry
worker labor union wage price cost value tax budget debt loan credit interest profit loss growth decline
climate weather rain snow wind storm season summer winter spring autumn morning evening night day hour time
calendar clock measure number count mathematics geometry algebra physics chemistry biology astronomy planet
star moon sun sky space orbit telescope map atlas compass navigation explorer discovery invention patent
photograph painting sculpture museum gallery exhibition collection archive manuscript record document catalog
index reference dictionary encyclopedia grammar translation philosophy religion myth legend ritual festival
dance theater film television radio newspaper magazine journal article review essay lecture debate speech
argument logic reason truth belief doubt question answer problem solution idea concept principle rule
pattern form shape color sound voice song instrument piano violin guitar drum orchestra opera choir rhythm
harmony melody composer painter architect engineer scientist philosopher historian poet novelist critic
children education learning reading writing teaching training skill craft habit custom tradition heritage
migration population census settlement colony frontier wilderness desert valley plain lake canal railway
station airport aircraft automobile bicycle horse cattle sheep wheat rice corn bread wine salt sugar coffee
tea cotton silk wool leather iron steel copper gold silver coal oil gas electricity battery circuit signal
message telegraph telephone internet website search engine query ranking retrieval storage archive backup
security privacy password identity citizen community neighbor volunteer charity hospital nurse patient cure
vaccine virus bacteria cell gene protein evolution species animal bird fish insect whale wolf bear lion
running walking swimming climbing building painting writing reading singing dancing thinking learning
historical scientific musical cultural natural political economic social literary artistic technical
quickly slowly carefully hardly rightly openly deeply widely largely nearly really simply clearly
`.trim().split(/\s+/).filter((word, index, all) => all.indexOf(word) === index);

const STOPWORDS = ['the', 'of', 'and', 'a', 'in', 'to', 'is', 'for', 'on', 'with', 'as', 'by', 'at', 'from', 'this', 'that'];

export interface CorpusResource {
    id: string;
    title: string;
    description: string;
    subject: string[];
    quality_score: number;
    read_status: 'unread' | 'in_progress' | 'read';
    created_at: string;
    updated_at: string;
}

/** mulberry32: a tiny seeded PRNG, so every run builds the same library. */
export function seededRandom(seed: number): () => number {

    let state = seed >>> 0;
    return () => {

        state = (state + 0x6D2B79F5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

function zipfSampler(size: number, random: () => number): () => number {

    const cumulative: number[] = [];
    let sum = 0;
    for (let rank = 1; rank <= size; ++rank) {
        sum += 1 / (rank + 100);
        cumulative.push(sum);
    }

    return () => {

        const target = random() * sum;
        let low = 0;
        let high = size - 1;
        while (low < high) {
            const mid = (low + high) >> 1;
            if (cumulative[mid]! < target) {
                low = mid + 1;
            }
            else {
                high = mid;
            }
        }

        return low;
    };
}

function uuidFrom(random: () => number): string {

    const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${'89ab'[Math.floor(random() * 4)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface Corpus {
    /** The vocabulary in frequency order (index 0 is the most common word). */
    vocabulary: readonly string[];
    resources(count: number): Generator<CorpusResource>;
}

export function createCorpus(seed = 20261124): Corpus {

    const random = seededRandom(seed);
    // A seed-dependent order, so the most common words are not alphabetical neighbours.
    const head = [...VOCABULARY].map((word) => ({ word, key: random() })).sort((a, b) => a.key - b.key).map((entry) => entry.word);
    const tail = new Set<string>();
    while (tail.size < 5000) {
        const left = VOCABULARY[Math.floor(random() * VOCABULARY.length)]!;
        const right = VOCABULARY[Math.floor(random() * VOCABULARY.length)]!;
        if (left !== right) {
            tail.add(`${left.slice(0, 3 + Math.floor(random() * 3))}${right}`);
        }
    }

    const vocabulary = [...head, ...tail];
    const pick = zipfSampler(vocabulary.length, random);
    const subjects = Array.from({ length: 60 }, () => `${vocabulary[pick()]} ${vocabulary[Math.floor(random() * vocabulary.length)]}`);
    const base = Date.UTC(2025, 0, 1);

    const text = (words: number) => {

        const out: string[] = [];
        for (let i = 0; i < words; ++i) {
            out.push(random() < 0.3 ? STOPWORDS[Math.floor(random() * STOPWORDS.length)]! : vocabulary[pick()]!);
        }

        return out;
    };

    return {
        vocabulary,
        *resources(count: number) {

            for (let i = 0; i < count; ++i) {
                const title = text(3 + Math.floor(random() * 7));
                title[0] = title[0]!.charAt(0).toUpperCase() + title[0]!.slice(1);
                const description = text(30 + Math.floor(random() * 190)).join(' ') + '.';
                const subjectCount = 1 + Math.floor(random() * 4);
                const subject = [...new Set(Array.from({ length: subjectCount }, () => subjects[Math.floor(random() * subjects.length)]!))];
                // Timestamps are spread over a year; a few share one, so ties on rank and time fall to the id.
                const time = new Date(base + Math.floor(random() * 365 * 24 * 3600) * 1000).toISOString();
                yield {
                    id: uuidFrom(random),
                    title: title.join(' '),
                    description,
                    subject,
                    quality_score: Math.round(random() * 100) / 100,
                    read_status: (['unread', 'in_progress', 'read'] as const)[Math.floor(random() * 3)]!,
                    created_at: time,
                    updated_at: time
                };
            }
        }
    };
}

/** Inserts resources in batches (the search triggers index them as they land). */
export async function insertCorpus(knex: Knex, resources: Iterable<CorpusResource>, onBatch?: (inserted: number) => void): Promise<number> {

    let batch: Array<Record<string, unknown>> = [];
    let inserted = 0;
    const flush = async () => {

        if (batch.length) {
            await knex('resources').insert(batch);
            inserted += batch.length;
            onBatch?.(inserted);
            batch = [];
        }
    };

    for (const resource of resources) {
        batch.push({ ...resource, subject: JSON.stringify(resource.subject) });
        // knex inserts many rows on SQLite as one compound SELECT, limited to 500 terms.
        if (batch.length === 250) {
            await flush();
        }
    }

    await flush();
    return inserted;
}

/** 50 fixed queries of 1–3 words spread over common, middling and rare words (the benchmark's set). */
export function benchmarkQueries(vocabulary: readonly string[]): string[] {

    const at = (rank: number) => vocabulary[rank % vocabulary.length]!;
    const queries: string[] = [];
    for (let i = 0; i < 20; ++i) {
        queries.push(at(i * 22));
    }

    for (let i = 0; i < 20; ++i) {
        queries.push(`${at(i * 3 + 1)} ${at(i * 19 + 50)}`);
    }

    for (let i = 0; i < 10; ++i) {
        queries.push(`${at(i * 2)} ${at(i * 5 + 7)} ${at(i * 37 + 90)}`);
    }

    return queries;
}
