// Ranking parity: the same library and the same queries on SQLite (FTS5 bm25)
// and PostgreSQL (bm25 in SQL), in one process, compared id for id. Runs in
// both suites; it needs a reachable PostgreSQL server for its scratch database
// and is skipped (visibly) only when there is none outside CI.

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { createPostgresSearchBackend } from '../../../plugins/fts-postgres/search';
import { createSqliteSearchBackend } from '../../../plugins/fts-sqlite/search';
import { createDatabaseEngine } from '../../../server/db/engine';
import { migrationConfig } from '../../../server/db/migrations';
import type { DatabaseEngine } from '../../../server/db/types';
import { parseQuery } from '../../../server/search/query';
import type { SearchBackend } from '../../../server/search/types';
import { dropPostgresDatabase, ensurePostgresDatabase, removeSqliteFiles, tempSqlitePath } from '../../helpers/database';
import { needsPostgres, postgresDatabaseUrl } from '../../helpers/requirements';
import { createCorpus, insertCorpus, type CorpusResource } from '../../helpers/search-corpus';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const scratchUrl = postgresDatabaseUrl(`na_fts_parity_${process.pid}`);
// Decided before the tests are declared, so lab can report the skip.
const postgres = needsPostgres();

const GENERATED = 2400;

// Hand-placed documents whose best match is obvious; each query must put its document first on both engines.
const FILLER = 'notes gathered over several seasons by volunteers of the society';
const HAND_PLACED: Array<{ query: string; resource: Omit<CorpusResource, 'id' | 'created_at' | 'updated_at' | 'quality_score' | 'read_status'> & { id: string } }> = [
    { query: 'astrolabe', resource: { id: '00000000-0000-4000-8000-000000000001', title: 'The astrolabe', description: `An astrolabe and how an astrolabe is used, ${FILLER}.`, subject: ['astronomy instrument'] } },
    { query: 'cathedral architecture', resource: { id: '00000000-0000-4000-8000-000000000002', title: 'Cathedral architecture', description: `Cathedral architecture: every cathedral, its architecture and architect, ${FILLER}.`, subject: ['cathedral', 'architecture'] } },
    { query: 'telescope orbit', resource: { id: '00000000-0000-4000-8000-000000000003', title: 'Telescope orbit', description: `A telescope in orbit; the orbit of the telescope, ${FILLER}.`, subject: ['telescope'] } },
    { query: '"harbor bridge"', resource: { id: '00000000-0000-4000-8000-000000000004', title: 'Harbor bridge', description: `The harbor bridge and the harbor bridge railway, ${FILLER}.`, subject: ['harbor bridge'] } },
    { query: 'vaccin*', resource: { id: '00000000-0000-4000-8000-000000000005', title: 'Vaccines', description: `Vaccine, vaccines, vaccination: a vaccine history, ${FILLER}.`, subject: ['vaccine'] } }
];

// The same made-up word in the title, the description or the subjects of
// three documents of equal length: the title match must win, then the description.
const FIELD_ORDER = [
    { id: '00000000-0000-4000-8000-0000000000a1', title: 'Zeppelin mooring mast', description: `A mooring mast for airships, ${FILLER}.`, subject: ['aviation'] },
    { id: '00000000-0000-4000-8000-0000000000a2', title: 'Airship mooring mast', description: `A mooring mast for zeppelin, ${FILLER}.`, subject: ['aviation'] },
    { id: '00000000-0000-4000-8000-0000000000a3', title: 'Airship mooring mast', description: `A mooring mast for airships, ${FILLER}.`, subject: ['zeppelin'] }
];

function handPlaced(): CorpusResource[] {

    return [...HAND_PLACED.map((entry) => entry.resource), ...FIELD_ORDER].map((resource, index) => ({
        ...resource,
        quality_score: 0.5,
        read_status: 'unread',
        created_at: new Date(Date.UTC(2024, 0, 1 + index)).toISOString(),
        updated_at: new Date(Date.UTC(2024, 0, 1 + index)).toISOString()
    }));
}

/** 42 fixed queries of 1–3 words over common, middling and rare words, plus the 6 hand-placed ones. */
function parityQueries(vocabulary: readonly string[], phrase: string): string[] {

    const queries: string[] = [];
    const at = (rank: number) => vocabulary[rank % vocabulary.length]!;
    for (let i = 0; i < 16; ++i) {
        queries.push(at(i < 8 ? i * 50 + 3 : 600 + i * 300));             // single words, common to rare
    }

    for (let i = 0; i < 14; ++i) {
        queries.push(`${at(i * 5 + 1)} ${at(i * 31 + 40)}`);            // a common and a rarer word
    }

    for (let i = 0; i < 8; ++i) {
        queries.push(`${at(i * 3)} ${at(i * 3 + 1)} ${at(i * 7 + 20)}`); // three words
    }

    queries.push(`${at(2)} OR ${at(200)}`, `"${phrase}"`, `${at(5)} -${at(0)}`, `${at(30).slice(0, 4)}*`);
    return [...queries, ...HAND_PLACED.map((entry) => entry.query), 'zeppelin'];
}

async function buildLibrary(engine: DatabaseEngine, resources: CorpusResource[]): Promise<void> {

    await engine.knex.migrate.latest(migrationConfig);
    await insertCorpus(engine.knex, resources);
}

describe('fts: ranking parity between SQLite and PostgreSQL', () => {

    let sqlitePath: string;
    let sqliteEngine: DatabaseEngine;
    let postgresEngine: DatabaseEngine;
    const backends: Record<'sqlite' | 'postgres', SearchBackend> = {} as any;
    const corpus = createCorpus();
    let resources: CorpusResource[] = [];

    before({ timeout: 300_000 }, async () => {

        if (postgres.skip) {
            return;
        }

        resources = [...corpus.resources(GENERATED), ...handPlaced()];
        sqlitePath = tempSqlitePath('parity');
        sqliteEngine = createDatabaseEngine(`sqlite:${sqlitePath}`);
        await ensurePostgresDatabase(scratchUrl);
        postgresEngine = createDatabaseEngine(scratchUrl, { min: 0, max: 4 });
        await postgresEngine.knex.raw('DROP SCHEMA IF EXISTS public CASCADE');
        await postgresEngine.knex.raw('CREATE SCHEMA public');
        await Promise.all([buildLibrary(sqliteEngine, resources), buildLibrary(postgresEngine, resources)]);
        backends.sqlite = createSqliteSearchBackend(sqliteEngine.knex);
        backends.postgres = createPostgresSearchBackend(postgresEngine.knex);
    });

    after({ timeout: 60_000 }, async () => {

        if (postgres.skip) {
            return;
        }

        await sqliteEngine?.destroy();
        removeSqliteFiles(sqlitePath);
        await postgresEngine?.destroy();
        await dropPostgresDatabase(scratchUrl);
    });

    // Ids and ranks of one page, as the backend's page statement returns them.
    const top = async (engine: 'sqlite' | 'postgres', query: string, limit = 10) => {

        const page = await backends[engine].page(parseQuery(query), {}, limit, 0, null);
        return { total: page.total, hits: page.hits.map((hit) => ({ id: hit.row.id, rank: hit.rank })) };
    };

    const overlapReport = async () => {

        // A subject of the library is a two-word phrase that surely occurs.
        const queries = parityQueries(corpus.vocabulary, resources[0]!.subject[0]!);
        expect(queries.length).to.be.at.least(40);
        const overlaps: number[] = [];
        const report: string[] = [];
        for (const query of queries) {
            const [sqlite, postgres] = await Promise.all([top('sqlite', query), top('postgres', query)]);
            const hits = Math.min(10, Math.max(sqlite.total, postgres.total));
            expect(hits, `query ${query} finds nothing`).to.be.above(0);
            expect(postgres.total, `total of ${query}`).to.equal(sqlite.total);
            const shared = postgres.hits.filter((hit) => sqlite.hits.some((other) => other.id === hit.id)).length;
            overlaps.push(shared / hits);
            report.push(`${query}: ${shared}/${hits}`);
        }

        const mean = overlaps.reduce((sum, value) => sum + value, 0) / overlaps.length;
        const below = report.filter((_, i) => overlaps[i]! < 1).join('; ') || 'none';
        return { mean, summary: `mean top-10 overlap ${mean.toFixed(3)} over ${queries.length} queries; below 1: ${below}` };
    };

    it('shares at least 0.8 of the top 10 on average over 48 fixed queries', { ...postgres, timeout: 120_000 }, async (flags: Lab.script.Flags) => {

        const { mean, summary } = await overlapReport();
        flags.note(summary);
        expect(mean).to.be.at.least(0.8);
    });

    it('still shares at least 0.8 when PostgreSQL ranks through champion lists', { ...postgres, timeout: 120_000 }, async (flags: Lab.script.Flags) => {

        // Lists scaled to this library (the defaults, 500 best of words in
        // 2,000+ documents, are for libraries of 100,000).
        await postgresEngine.knex.raw('SELECT search_champions_refresh(100, 40)');
        try {
            const [{ count }] = await postgresEngine.knex('search_champions').count({ count: '*' });
            expect(Number(count)).to.be.above(1000);
            const { mean, summary } = await overlapReport();
            flags.note(`with champion lists: ${summary}`);
            expect(mean).to.be.at.least(0.8);
        }
        finally {
            await postgresEngine.knex.raw('SELECT search_champions_refresh()');
        }
    });

    it('builds champion lists that hold, per common word, exactly the best documents by single-word bm25', { ...postgres, timeout: 120_000 }, async () => {

        // Computed here from the side table, independently of the SQL function:
        // FTS5's weighted term frequency, bm25's length factor, ties broken by
        // the newest update, then by id.
        const { rows: docs } = await postgresEngine.knex.raw(`
            SELECT resource_id::text AS id, doc_len, vec::text AS vec,
                   (extract(epoch FROM updated_at) * 1000000)::bigint::text AS micros
            FROM resource_search`);
        const { rows: [corpusStats] } = await postgresEngine.knex.raw('SELECT ndocs, total_len FROM search_corpus_stats');
        const avgdl = Number(corpusStats.total_len) / Number(corpusStats.ndocs);
        const FIELD_WEIGHT: Record<string, number> = { A: 10, B: 5, C: 2, D: 0 };
        const byWord = new Map<string, Array<{ id: string; score: number; micros: bigint }>>();
        for (const doc of docs) {
            const norm = 1.2 * (0.25 + 0.75 * doc.doc_len / avgdl);
            for (const [, quoted, positions] of (doc.vec as string).matchAll(/'((?:[^']|'')*)'(?::([0-9A-D,]+))?/g)) {
                const tf = (positions ?? '').split(',').filter(Boolean).reduce((sum, position) => sum + FIELD_WEIGHT[/[A-D]$/.test(position) ? position.slice(-1) : 'D']!, 0);
                const word = quoted!.replace(/''/g, "'");
                const list = byWord.get(word) ?? [];
                list.push({ id: doc.id, score: tf * 2.2 / (tf + norm), micros: BigInt(doc.micros) });
                byWord.set(word, list);
            }
        }

        const expected = (minDf: number, size: number) => [...byWord].filter(([, list]) => list.length >= minDf).flatMap(([word, list]) => list
            .sort((a, b) => b.score - a.score || (b.micros > a.micros ? 1 : b.micros < a.micros ? -1 : 0) || (a.id < b.id ? -1 : 1))
            .slice(0, size)
            .map((entry) => `${word} ${entry.id}`))
            .sort();

        try {
            for (const [minDf, size] of [[100, 40], [1, 3], [2, 1]] as const) {
                await postgresEngine.knex.raw('SELECT search_champions_refresh(?, ?)', [minDf, size]);
                const built = (await postgresEngine.knex('search_champions').select('lexeme', postgresEngine.knex.raw('resource_id::text AS id')))
                    .map((row: { lexeme: string; id: string }) => `${row.lexeme} ${row.id}`).sort();
                const want = expected(minDf, size);
                expect(want.length, `lists of ${minDf}, ${size}`).to.be.above(40);
                expect(built, `lists of ${minDf}, ${size}`).to.equal(want);
            }
        }
        finally {
            await postgresEngine.knex.raw('SELECT search_champions_refresh()');
        }
    });

    it('puts every hand-placed obvious best document first on both engines', postgres, async () => {

        for (const { query, resource } of HAND_PLACED) {
            for (const engine of ['sqlite', 'postgres'] as const) {
                const { hits } = await top(engine, query, 1);
                expect(hits[0]?.id, `${engine}: ${query}`).to.equal(resource.id);
            }
        }
    });

    it('ranks a title match above a description match above a subject match on both engines', postgres, async () => {

        for (const engine of ['sqlite', 'postgres'] as const) {
            const { hits } = await top(engine, 'zeppelin');
            expect(hits.map((hit) => hit.id), engine).to.equal(FIELD_ORDER.map((resource) => resource.id));
        }
    });

    it('gives the same scores and the same order for single-word queries', postgres, async () => {

        for (const word of corpus.vocabulary.slice(0, 40)) {
            const [sqlite, postgres] = await Promise.all([top('sqlite', word, 25), top('postgres', word, 25)]);
            expect(postgres.total, word).to.equal(sqlite.total);
            expect(postgres.hits, word).to.equal(sqlite.hits);
        }
    });
});
