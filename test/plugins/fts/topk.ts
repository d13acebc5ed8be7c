// Exact top-k: the fast path of each engine (PostgreSQL: champion lists with
// their floors and the changed documents; the page says whether its
// candidates prove it) must give exactly the page that ranking every match
// gives: same documents, same ranks, same tie order. Checked on random
// libraries and random queries, after random creates, updates and deletes,
// before and after the upkeep folds the changes into the lists. SQLite ranks
// every match inside FTS5: there GET /search is compared with the reference.

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import * as FtsPostgres from '../../../plugins/fts-postgres/search';
import * as FtsSqlite from '../../../plugins/fts-sqlite/search';
import { parseQuery, type ParsedQuery } from '../../../server/search/query';
import type { SearchFilters } from '../../../server/search/types';
import { createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

interface RankedRow {
    id: string;
    rank: number;
}

interface FastPage {
    rows: RankedRow[];
    /** The candidates proved the page; false: the search ranks every match. */
    exact: boolean;
}

interface Engine {
    /** Every match ranked: the reference. */
    full(query: ParsedQuery, filters: SearchFilters, limit: number, offset: number): Promise<RankedRow[]>;
    /** The fast path alone; null where the engine ranks every match (SQLite: FTS5). */
    fast: ((query: ParsedQuery, filters: SearchFilters, limit: number, offset: number) => Promise<FastPage>) | null;
    /** What the upkeep does: folds every change into the lists (small lists, so the bounds matter). */
    fold(): Promise<void>;
}

const rows = (result: any): Array<Record<string, unknown>> => (Array.isArray(result) ? result : result.rows);
const ranked = (list: Array<Record<string, unknown>>): RankedRow[] => list.filter((row) => row.id !== null).map((row) => ({ id: String(row.id), rank: Number(row.rank) }));

const engines: Record<string, (t: TestServer) => Engine> = {
    postgres: (t) => ({
        async full(query, filters, limit, offset) {

            const sql = FtsPostgres.rankSql(query, filters, limit, offset);
            return ranked(rows(await t.server.knex.raw(sql.sql, sql.bindings)));
        },
        fast: async (query, filters, limit, offset) => {

            const sql = FtsPostgres.rankSql(query, filters, limit, offset, true);
            const result = rows(await t.server.knex.raw(sql.sql, sql.bindings));
            // Only pages a champion list proved count as the fast path's.
            return { rows: ranked(result), exact: result.length > 0 && result[0]!.listed === true && result[0]!.exact === true };
        },
        fold: async () => {

            await t.server.knex.raw('SELECT search_champions_refresh(4, 6)');
        }
    }),
    sqlite: (t) => ({
        async full(query, filters, limit, offset) {

            const sql = FtsSqlite.rankSql(query, filters, limit, offset);
            return ranked(rows(await t.server.knex.raw(sql.sql, sql.bindings)));
        },
        // FTS5 ranks every match; GET /search must still equal the reference after every write.
        fast: null,
        fold: async () => {}
    })
};

// A small vocabulary with a steep (Zipf-like) frequency, so some words are in
// most documents, some in a few; with inflections that stem alike.
const VOCABULARY = [
    'river', 'rivers', 'stone', 'bridge', 'bridges', 'garden', 'lantern', 'harbor', 'copper', 'window', 'market', 'marble',
    'orchard', 'falcon', 'meadow', 'cellar', 'anchor', 'violet', 'thunder', 'saddle', 'quarry', 'ember', 'glacier', 'tundra',
    'walking', 'walked', 'walks', 'signal', 'signals', 'ledger', 'compass', 'island', 'islands', 'mortar', 'pigment'
];
const SUBJECTS = ['history', 'maps', 'trade', 'art'];
const READ_STATUS = ['read', 'unread'];

function random(seed: number): () => number {

    // mulberry32: small, seeded, good enough to pick test data.
    let state = seed >>> 0;
    return () => {

        state = (state + 0x6D2B79F5) >>> 0;
        let x = Math.imul(state ^ (state >>> 15), 1 | state);
        x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
        return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
}

describe('fts: exact top-k', () => {

    let t: TestServer;
    let engine: Engine;

    before(async () => {

        t = await createTestServer();
        engine = engines[t.server.search.engine]!(t);
    });

    after(async () => {

        await t.stop();
    });

    it('gives exactly the page ranking every match gives, on random libraries, queries and writes, before and after the upkeep folds them', { timeout: 300_000 }, async (flags: Lab.script.Flags) => {

        const seed = Number(process.env.TOPK_SEED ?? Date.now() % 1_000_000);
        const next = random(seed);
        const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
        const word = () => VOCABULARY[Math.floor(VOCABULARY.length * next() ** 2.5)]!;
        const words = (min: number, max: number) => Array.from({ length: min + Math.floor(next() * (max - min + 1)) }, word).join(' ');
        const resource = (long = false) => ({
            title: words(1, 4),
            description: long ? words(60, 120) : words(3, 30),
            subject: [...new Set(Array.from({ length: Math.floor(next() * 3) }, () => pick(SUBJECTS)))],
            read_status: pick(READ_STATUS)
        });

        const ids: string[] = [];
        const create = async (long = false) => {

            const res = await t.server.inject({ method: 'POST', url: '/resources', payload: resource(long) });
            expect(res.statusCode, res.payload).to.equal(201);
            ids.push((res.result as { id: string }).id);
        };

        const write = async (count: number) => {

            for (let i = 0; i < count; ++i) {
                const choice = next();
                if (choice < 0.4 || ids.length < 20) {
                    await create(next() < 0.2);
                }
                else if (choice < 0.8) {
                    const { title, description } = resource(next() < 0.2);
                    const res = await t.server.inject({ method: 'PATCH', url: `/resources/${pick(ids)}`, payload: next() < 0.5 ? { title } : { description } });
                    expect(res.statusCode, res.payload).to.equal(200);
                }
                else {
                    const [id] = ids.splice(Math.floor(next() * ids.length), 1);
                    const res = await t.server.inject({ method: 'DELETE', url: `/resources/${id}` });
                    expect(res.statusCode, res.payload).to.be.within(200, 204);
                }
            }
        };

        const query = (): string => {

            const shape = next();
            if (shape < 0.35) {
                return word();
            }

            if (shape < 0.6) {
                return words(2, 3);
            }

            if (shape < 0.7) {
                return `${word()} OR ${word()}`;
            }

            if (shape < 0.8) {
                return `(${word()} OR ${word()}) ${word()}`;
            }

            if (shape < 0.87) {
                return `${word()} -${word()}`;
            }

            if (shape < 0.94) {
                return `"${word()} ${word()}" ${word()}`;
            }

            return `${word().slice(0, 3)}* ${word()}`;
        };

        let proved = 0;
        let compared = 0;
        const compare = async (stage: string) => {

            for (let i = 0; i < 50; ++i) {
                const text = query();
                const parsed = parseQuery(text);
                const filters: { read_status?: string } = next() < 0.15 ? { read_status: pick(READ_STATUS) } : {};
                const limit = 1 + Math.floor(next() * 10);
                const offset = next() < 0.7 ? 0 : Math.floor(next() * 8);
                const label = `seed ${seed}, ${stage}: "${text}" ${JSON.stringify(filters)} limit ${limit} offset ${offset}`;
                const full = await engine.full(parsed, filters, limit, offset);
                const fast = engine.fast ? await engine.fast(parsed, filters, limit, offset) : { rows: [], exact: false };
                if (fast.exact) {
                    expect(fast.rows, label).to.equal(full);
                    proved += stage === 'written, never folded' ? 0 : 1;
                }

                // The search as a client sees it: the fast path or, when it cannot prove its page, every match.
                const params = new URLSearchParams({ q: text, limit: String(limit), offset: String(offset), ...filters });
                const res = await t.server.inject(`/search?${params}`);
                expect(res.statusCode, `${label}: ${res.payload}`).to.equal(200);
                const items = (res.result as { items: Array<{ resource: { id: string }; rank: number }> }).items;
                expect(items.map((item) => ({ id: item.resource.id, rank: item.rank })), label).to.equal(full);
                ++compared;
            }
        };

        for (let i = 0; i < 80; ++i) {
            await create();
        }

        await compare('written, never folded');
        await engine.fold();
        await compare('folded');
        await write(40);
        await compare('written after the fold');
        await engine.fold();
        await compare('folded again');
        // Long documents raise the average length past the one the lists were built with.
        for (let i = 0; i < 15; ++i) {
            await create(true);
        }

        await compare('longer documents written after the fold');
        await write(30);
        await engine.fold();
        await compare('folded after deletes and updates');
        expect(compared).to.equal(300);
        // After a fold the fast path proves many pages; otherwise it would never be used.
        if (engine.fast) {
            flags.note(`seed ${seed}: the fast path proved ${proved} of the ${compared - 50} pages after a fold`);
            expect(proved, `seed ${seed}`).to.be.above(25);
        }
    });
});
