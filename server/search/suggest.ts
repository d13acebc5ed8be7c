// "Did you mean": both engines find titles and subjects that look like a
// misspelled word through a trigram index (pg_trgm on PostgreSQL, an FTS5
// trigram table on SQLite); the closest word inside them is chosen here, with
// pg_trgm's similarity measure, so both dialects pick words the same way.

import { isStopword } from './stopwords';

export const SUGGESTION_THRESHOLD = 0.3;

function trigrams(word: string): Set<string> {

    // pg_trgm pads each word with two spaces in front and one behind.
    const padded = `  ${word} `;
    const set = new Set<string>();
    for (let i = 0; i + 3 <= padded.length; ++i) {
        set.add(padded.slice(i, i + 3));
    }

    return set;
}

/** pg_trgm similarity of two words: shared trigrams over all trigrams. */
export function trigramSimilarity(a: string, b: string): number {

    const left = trigrams(a);
    const right = trigrams(b);
    let shared = 0;
    for (const gram of left) {
        if (right.has(gram)) {
            ++shared;
        }
    }

    return shared / (left.size + right.size - shared);
}

/** The word in `texts` closest to `word`, or null when none is close enough. */
export function closestWord(word: string, texts: readonly string[]): string | null {

    let best: string | null = null;
    let bestScore = SUGGESTION_THRESHOLD;
    for (const text of texts) {
        for (const candidate of text.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
            if (candidate.length < 2 || candidate === word || isStopword(candidate)) {
                continue;
            }

            const score = trigramSimilarity(word, candidate);
            if (score > bestScore || (score === bestScore && best !== null && candidate < best)) {
                best = candidate;
                bestScore = score;
            }
        }
    }

    return best;
}
