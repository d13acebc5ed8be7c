// Concurrent writers of resource text (issue 18): bm25's statistics stay
// exactly those of a full recount while 16 writers create, update and delete,
// and on PostgreSQL no writer waits on another's statistics rows
// (migration 20261204100200: sharded counters, folded by the upkeep).

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import type { Knex } from 'knex';

import { migrationConfig } from '../../../server/db/migrations';
import { rebuildSearchStorage } from '../../../server/search/storage';
import { postgresOnly } from '../../helpers/database';
import { createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const MIGRATION = '20261204100200_search_stats_shards.ts';

// A few words in most texts (the rows that used to be hot), most words rare.
const WORDS = ['harbour', 'lantern', 'granite', 'meridian', 'cobalt', 'fjord', 'quarry', 'saffron', 'tundra', 'obsidian',
    'vellum', 'zephyr', 'juniper', 'basalt', 'estuary', 'lagoon', 'marrow', 'nimbus', 'pewter', 'russet'];

function text(random: () => number, count: number): string {

    return Array.from({ length: count }, () => WORDS[Math.floor(WORDS.length ** random()) - 1]!).join(' ');
}

function seeded(seed: number): () => number {

    let state = seed;
    return () => {

        state = (state * 1103515245 + 12345) % 2147483648;
        return state / 2147483648;
    };
}

interface Statistics {
    lexemes: Array<{ lexeme: string; ndoc: number }>;
    corpus: { ndocs: number; total_len: number };
}

/** What ranking reads: the views over the shards. */
async function maintained(knex: Knex): Promise<Statistics> {

    const { rows: lexemes } = await knex.raw('SELECT lexeme, ndoc FROM search_lexeme_stats WHERE ndoc <> 0 ORDER BY lexeme');
    const { rows: [corpus] } = await knex.raw('SELECT ndocs::integer AS ndocs, total_len::integer AS total_len FROM search_corpus_stats');
    return { lexemes, corpus };
}

/** A full recount from resources, independent of the side table and the triggers. */
async function recount(knex: Knex): Promise<Statistics> {

    const { rows: lexemes } = await knex.raw("SELECT word AS lexeme, ndoc FROM ts_stat('SELECT search_vector FROM resources') ORDER BY word");
    const { rows: [corpus] } = await knex.raw(`
        SELECT count(*)::integer AS ndocs, coalesce(sum(search_document_length(title, description, subject)), 0)::integer AS total_len
        FROM resources`);
    return { lexemes, corpus };
}

async function shardsInUse(knex: Knex): Promise<number> {

    const { rows } = await knex.raw('SELECT count(DISTINCT shard)::integer AS n FROM search_lexeme_shards');
    return rows[0].n;
}

describe('fts: concurrent writers', () => {

    let t: TestServer;

    const search = async (query: string): Promise<{ total: number; items: Array<[string, number]> }> => {

        const res = await t.server.inject(`/search?q=${encodeURIComponent(query)}&limit=50&exact_total=true`);
        expect(res.statusCode, res.payload).to.equal(200);
        const body = JSON.parse(res.payload);
        return { total: body.total, items: body.items.map((item: { resource: { id: string }; rank: number }) => [item.resource.id, item.rank]) };
    };

    const QUERIES = ['harbour', 'lantern granite', 'fjord OR saffron', '"harbour lantern"', 'obsid*', 'russet pewter marrow', 'zephyr -harbour'];

    before(async () => {

        // Room for 16 writers at once.
        t = await createTestServer({ DB_POOL_MAX: '20' });
    });

    after(async () => {

        await t.stop();
    });

    it('keeps the statistics equal to a full recount and search equal to a rebuild while 16 writers create, update and delete', { timeout: 120_000 }, async () => {

        const failures: string[] = [];
        const counts = { created: 0, updated: 0, deleted: 0 };
        const deadline = Date.now() + 3000;
        const writer = async (index: number) => {

            const random = seeded(index + 1);
            const mine: string[] = [];
            while (Date.now() < deadline) {
                const choice = random();
                if (choice < 0.55 || mine.length < 2) {
                    const res = await t.server.inject({ method: 'POST', url: '/resources', payload: { title: text(random, 4), description: text(random, 30), subject: [text(random, 1)] } });
                    if (res.statusCode !== 201) {
                        failures.push(`POST ${res.statusCode} ${res.payload}`);
                        continue;
                    }

                    mine.push((res.result as { id: string }).id);
                    ++counts.created;
                }
                else if (choice < 0.85) {
                    const id = mine[Math.floor(random() * mine.length)]!;
                    const payload = random() < 0.5 ? { description: text(random, 25) } : { title: text(random, 5) };
                    const res = await t.server.inject({ method: 'PATCH', url: `/resources/${id}`, payload });
                    if (res.statusCode !== 200) {
                        failures.push(`PATCH ${res.statusCode} ${res.payload}`);
                    }

                    ++counts.updated;
                }
                else {
                    const id = mine.splice(Math.floor(random() * mine.length), 1)[0]!;
                    const res = await t.server.inject({ method: 'DELETE', url: `/resources/${id}` });
                    if (res.statusCode !== 204) {
                        failures.push(`DELETE ${res.statusCode} ${res.payload}`);
                    }

                    ++counts.deleted;
                }
            }
        };

        await Promise.all(Array.from({ length: 16 }, (_, i) => writer(i)));
        expect(failures).to.equal([]);
        expect(counts.created).to.be.above(30);
        expect(counts.updated).to.be.above(10);
        expect(counts.deleted).to.be.above(5);

        const knex = t.server.knex;
        if (t.server.db.type === 'postgres') {
            // The writers spread their counts over shards; the sums are exact.
            expect(await shardsInUse(knex)).to.be.above(1);
            const expected = await recount(knex);
            expect(expected.corpus.ndocs).to.equal(counts.created - counts.deleted);
            expect(await maintained(knex)).to.equal(expected);

            // The upkeep folds them into one shard, with the same sums.
            expect((await t.server.upkeep.runOnce())['search-stats-fold']).to.equal('done');
            expect(await shardsInUse(knex)).to.equal(1);
            expect(await maintained(knex)).to.equal(expected);
            expect((await t.server.upkeep.runOnce())['search-stats-fold']).to.equal('idle');
        }

        const before = await Promise.all(QUERIES.map(search));
        expect(before[0]!.total).to.be.above(10);
        await rebuildSearchStorage(knex, t.server.db.type);
        expect(await Promise.all(QUERIES.map(search))).to.equal(before);
    });

    it('postgres only: a writer commits while another writer of the same words is still open', { ...postgresOnly, timeout: 60_000 }, async () => {

        const knex = t.server.knex;
        const [kept, removed]: Array<{ id: string }> = await knex('resources').insert([
            { title: 'harbour lantern granite', description: 'harbour harbour lantern' },
            { title: 'harbour lantern basalt', description: 'lantern granite' }
        ]).returning('id');

        const open = await knex.transaction();
        try {
            await open('resources').insert({ title: 'harbour lantern granite', description: 'harbour lantern fjord' });
            const started = Date.now();
            // Fails (SQLSTATE 55P03) instead of waiting if it needs a row the open transaction wrote.
            await knex.transaction(async (trx) => {

                await trx.raw("SET LOCAL lock_timeout = '2s'");
                await trx.raw("SET LOCAL statement_timeout = '10s'");
                await trx('resources').insert({ title: 'harbour lantern granite', description: 'harbour lantern quarry' });
                await trx('resources').where({ id: kept.id }).update({ description: 'harbour saffron' });
                await trx('resources').where({ id: removed.id }).delete();
            });
            expect(Date.now() - started).to.be.below(2000);
        }
        finally {
            await open.commit();
        }

        expect(await maintained(knex)).to.equal(await recount(knex));
    });

    it('postgres only: a writer does not wait for a fold in progress', { ...postgresOnly, timeout: 60_000 }, async () => {

        const knex = t.server.knex;
        // Counts in several shards, as concurrent writers leave them.
        await Promise.all(Array.from({ length: 6 }, (_, i) => knex.transaction(async (trx) => {

            await trx('resources').insert({ title: `harbour cobalt ${i}`, description: text(seeded(80 + i), 20) });
            await trx.raw('SELECT pg_sleep(0.2)');
        })));
        expect(await shardsInUse(knex)).to.be.above(1);
        const [first, second]: Array<{ id: string }> = await knex('resources').where('title', 'like', 'harbour cobalt %').orderBy('title').select('id');

        const fold = await knex.transaction();
        try {
            const { rows: [folded] }: { rows: Array<{ moved: number }> } = await fold.raw('SELECT search_stats_fold() AS moved');
            expect(folded!.moved).to.be.above(0);
            await knex.transaction(async (trx) => {

                await trx.raw("SET LOCAL lock_timeout = '2s'");
                await trx('resources').insert({ title: 'harbour cobalt lantern', description: 'granite harbour' });
                await trx('resources').where({ id: first!.id }).update({ title: 'harbour saffron' });
                await trx('resources').where({ id: second!.id }).delete();
            });
        }
        finally {
            await fold.commit();
        }

        expect(await maintained(knex)).to.equal(await recount(knex));
    });

    it('postgres only: the migration takes an existing library to shards and back, and the one-row statistics made writers wait', { ...postgresOnly, timeout: 120_000 }, async () => {

        const knex = t.server.knex;
        // Counts in several shards, as concurrent writers leave them.
        await Promise.all(Array.from({ length: 6 }, (_, i) => knex.transaction(async (trx) => {

            await trx('resources').insert({ title: `granite meridian ${i}`, description: text(seeded(50 + i), 20) });
            await trx.raw('SELECT pg_sleep(0.2)');
        })));
        expect(await shardsInUse(knex)).to.be.above(1);
        const expected = await recount(knex);
        const before = await Promise.all(QUERIES.map(search));

        // Rolled back to before this migration (and whatever came after it).
        const completed = async () => (await knex.migrate.list(migrationConfig))[0].map((entry: { name: string }) => entry.name).sort();
        while ((await completed()).some((name: string) => name >= MIGRATION)) {
            await knex.migrate.down(migrationConfig);
        }

        try {
            const { rows: kinds } = await knex.raw(`SELECT relname, relkind FROM pg_class
                WHERE relname IN ('search_lexeme_stats', 'search_corpus_stats', 'search_lexeme_shards') ORDER BY relname`);
            expect(kinds).to.equal([{ relname: 'search_corpus_stats', relkind: 'r' }, { relname: 'search_lexeme_stats', relkind: 'r' }]);
            const { rows: [row] } = await knex.raw('SELECT id, ndocs::integer AS ndocs, total_len::integer AS total_len FROM search_corpus_stats');
            expect(row).to.equal({ id: 1, ...expected.corpus });
            expect(await maintained(knex)).to.equal(expected);
            // (No search here: with later migrations rolled back too, the
            // server refuses to serve a schema that is not up to date.)

            // With one corpus row, a second writer waits for the first one's commit.
            const open = await knex.transaction();
            try {
                await open('resources').insert({ title: 'harbour', description: 'lantern' });
                const waited = knex.transaction(async (trx) => {

                    await trx.raw("SET LOCAL lock_timeout = '300ms'");
                    await trx('resources').insert({ title: 'harbour', description: 'granite' });
                });
                await expect(waited).to.reject(/lock timeout/);
            }
            finally {
                await open.rollback();
            }
        }
        finally {
            await knex.migrate.latest(migrationConfig);
        }

        // Applied again: every count in shard 0, the same sums and results.
        expect(await shardsInUse(knex)).to.equal(1);
        expect(await maintained(knex)).to.equal(expected);
        expect(await Promise.all(QUERIES.map(search))).to.equal(before);
    });
});
