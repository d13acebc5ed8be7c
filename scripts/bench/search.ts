// Search benchmark: builds (or reuses) a generated library of 100,000
// resources per dialect, then measures p50/p95 latency of 50 fixed queries of
// 1–3 words (a) as raw SQL through the driver — the statements the fts plugin
// sends for a page: ranking, exact count, the page's rows and snippets (one
// statement on SQLite; the page and the count side by side on PostgreSQL) —
// and (b) through GET /search (server.inject: parsing, validation, those
// statements, shaping the resources, rendering snippets, JSON), sequentially
// and with 8 requests in flight. For reference it also times the ranking alone
// (ids and ranks of the page in tie order plus the exact total, no rows or
// snippets). The three kinds run interleaved, one pass of the queries each
// per round in rotating order. Prints figures and ratios; it asserts nothing.
// With --sizes a,b it measures each size in turn (a library per size: the
// SQLite file and PostgreSQL database names end with the size) and prints
// the growth ratio of each figure from the first size to each later one.
// The library is generated and inserted in batches, so memory does not grow
// with its size; the process's peak RSS is printed after each size.
//
//   npm run bench:search -- [--dialect sqlite|postgres|both] [--size 100000 | --sizes 100000,300000]
//                           [--rounds 6] [--sqlite-file data/bench/search-100k.db]
//                           [--postgres-url postgres://postgres@127.0.0.1:5432/na_fts_bench]

import Path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';

import * as FtsPostgres from '../../plugins/fts-postgres/search';
import * as FtsSqlite from '../../plugins/fts-sqlite/search';
import { loadConfig } from '../../server/config';
import { createDatabaseEngine } from '../../server/db/engine';
import { migrationConfig } from '../../server/db/migrations';
import type { DatabaseEngine } from '../../server/db/types';
import { createServer } from '../../server/index';
import { parseQuery, type ParsedQuery } from '../../server/search/query';
import { EXACT_TOTAL_UP_TO } from '../../server/search/service';
import type { SearchBackend, SearchFilters } from '../../server/search/types';
import { ensurePostgresDatabase } from '../../test/helpers/database';
import { benchmarkQueries, createCorpus, insertCorpus } from '../../test/helpers/search-corpus';
import { positiveInteger } from './options';

type Dialect = 'sqlite' | 'postgres';

interface CompiledSql {
    sql: string;
    bindings: Knex.RawBinding[];
}

/** What differs between the dialects, in one place: the rest of the benchmark asks this. */
interface BenchDialect {
    /** The library's database for one size: as given, or with the size appended when several sizes run. */
    url(size: number): string;
    /** Creates the database when the engine needs one (PostgreSQL). */
    prepare(url: string): Promise<void>;
    /** How the library's database is named in the output. */
    describe(url: string): string;
    /** Refreshes the planner statistics after a bulk load. */
    analyze: string;
    /** Folds the changes into the top-k lists, as the upkeep does on its first round; returns a line to print, if any. */
    fold(engine: DatabaseEngine): Promise<string | null>;
    backend(knex: Knex): SearchBackend;
    /** The ranking alone, as the plugin runs it for one page. */
    ranking(knex: Knex): (query: ParsedQuery) => Promise<unknown>;
    countSql(query: ParsedQuery, filters: SearchFilters): CompiledSql;
    /** The rows of a raw result. */
    rows(result: any): Array<Record<string, unknown>>;
    /** How the queries' first pages were ranked (null: every match, always). */
    paths(knex: Knex, queries: ParsedQuery[]): Promise<string | null>;
}

const rootDir = Path.resolve(__dirname, '../..');
const { values: args } = parseArgs({
    options: {
        dialect: { type: 'string', default: 'both' },
        size: { type: 'string' },
        sizes: { type: 'string' },
        rounds: { type: 'string', default: '6' },
        'sqlite-file': { type: 'string', default: 'data/bench/search-100k.db' },
        'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/na_fts_bench' }
    }
});

if (args.size !== undefined && args.sizes !== undefined) {
    console.error('--size and --sizes cannot be combined');
    process.exit(2);
}

const SIZES = args.sizes !== undefined ?
    args.sizes.split(',').map((size) => positiveInteger('sizes', size.trim(), 10_000_000)) :
    [positiveInteger('size', args.size ?? '100000', 10_000_000)];
if (new Set(SIZES).size !== SIZES.length) {
    console.error('--sizes must list different sizes');
    process.exit(2);
}
const ROUNDS = positiveInteger('rounds', args.rounds, 100);
const PAGE = 25;
const CONCURRENCY = 8;

const dialects: Record<Dialect, BenchDialect> = {
    sqlite: {
        url(size) {

            const file = Path.resolve(rootDir, args['sqlite-file']!);
            // data/bench/search-100k.db → data/bench/search-300000.db
            return `sqlite:${SIZES.length > 1 ? file.replace(/(-\d+k)?(\.db)?$/, `-${size}.db`) : file}`;
        },
        prepare: async () => {},
        describe: (url) => url,
        analyze: 'ANALYZE',
        fold: async () => null,
        backend: FtsSqlite.createSqliteSearchBackend,
        ranking: (knex) => async (query) => {

            // One statement: every match ranked inside FTS5, the page in tie order, the total.
            const rank = FtsSqlite.rankSql(query, {}, PAGE, 0);
            return await knex.raw(rank.sql, rank.bindings);
        },
        countSql: FtsSqlite.countSql,
        rows: (result) => result,
        paths: async () => null
    },
    postgres: {
        url(size) {

            const url = new URL(args['postgres-url']!);
            if (SIZES.length > 1) {
                url.pathname = `${url.pathname}_${size}`;
            }

            return url.toString();
        },
        prepare: async (url) => {

            await ensurePostgresDatabase(url);
        },
        describe: (url) => new URL(url).pathname.slice(1),
        analyze: 'VACUUM ANALYZE',
        async fold(engine) {

            // A running server rebuilds the champion lists on its first upkeep
            // round after start; measure the state it serves from.
            const started = performance.now();
            const changed = await FtsPostgres.refreshChampionsIfStale(engine.knex, 1);
            if (changed === null) {
                return null;
            }

            await engine.knex.raw('ANALYZE search_champions, search_champion_floors');
            return `champion lists rebuilt for ${changed} changed documents in ${((performance.now() - started) / 1000).toFixed(1)} s`;
        },
        backend: FtsPostgres.createPostgresSearchBackend,
        ranking: (knex) => async (query) => {

            // The champion-list ranking and the count side by side, then the
            // full ranking when the candidates do not prove the page, as the plugin does.
            const rank = FtsPostgres.rankSql(query, {}, PAGE, 0, true);
            const count = FtsPostgres.countSql(query, {}, EXACT_TOTAL_UP_TO);
            const [ranked, counted] = await Promise.all([knex.raw(rank.sql, rank.bindings), knex.raw(count.sql, count.bindings)]);
            if (ranked.rows.length ? !ranked.rows[0].exact : Number(counted.rows[0].total) > 0) {
                const full = FtsPostgres.rankSql(query, {}, PAGE, 0);
                await knex.raw(full.sql, full.bindings);
            }
        },
        countSql: FtsPostgres.countSql,
        rows: (result) => result.rows,
        async paths(knex, queries) {

            let proved = 0;
            let again = 0;
            for (const query of queries) {
                const rank = FtsPostgres.rankSql(query, {}, PAGE, 0, true);
                const [row] = (await knex.raw(rank.sql, rank.bindings)).rows;
                proved += row?.listed && row.exact ? 1 : 0;
                again += row?.listed && !row.exact ? 1 : 0;
            }

            return `first pages proved by a champion list: ${proved} of ${queries.length}; ranked over every match after the list could not prove them: ${again}; the others ranked over every match at once`;
        }
    }
};

function log(message: string): void {

    process.stdout.write(`${message}\n`);
}

function percentile(samples: number[], p: number): number {

    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Figures {
    p50: number;
    p95: number;
    perSecond: number;
}

interface Samples {
    durations: number[];
    elapsedMs: number;
}

/** Runs the jobs with `concurrency` in flight; adds their latencies and the elapsed time to `into`. */
async function measure(work: Array<() => Promise<unknown>>, concurrency: number, into: Samples): Promise<void> {

    let next = 0;
    const started = performance.now();
    const worker = async () => {

        while (next < work.length) {
            const job = work[next++]!;
            const t0 = performance.now();
            await job();
            into.durations.push(performance.now() - t0);
        }
    };

    await Promise.all(Array.from({ length: concurrency }, worker));
    into.elapsedMs += performance.now() - started;
}

function figuresOf(samples: Samples): Figures {

    return {
        p50: percentile(samples.durations, 50),
        p95: percentile(samples.durations, 95),
        perSecond: (samples.durations.length / samples.elapsedMs) * 1000
    };
}

async function libraryReady(engine: DatabaseEngine, size: number): Promise<boolean> {

    await engine.knex.migrate.latest(migrationConfig);
    const [{ count }] = await engine.knex('resources').count({ count: '*' });
    return Number(count) === size;
}

async function fold(dialect: BenchDialect, engine: DatabaseEngine): Promise<void> {

    const done = await dialect.fold(engine);
    if (done) {
        log(`  ${done}`);
    }
}

async function buildLibrary(dialect: BenchDialect, engine: DatabaseEngine, size: number): Promise<void> {

    if (await libraryReady(engine, size)) {
        log(`  reusing the library of ${size} resources`);
        await fold(dialect, engine);
        return;
    }

    log(`  building a library of ${size} resources (triggers index every batch)…`);
    await engine.knex('resources').delete();
    const started = performance.now();
    let reported = 0;
    await insertCorpus(engine.knex, createCorpus().resources(size), (inserted) => {

        if (inserted - reported >= size / 10 || inserted === size) {
            reported = inserted;
            log(`  ${inserted}/${size} resources (${((performance.now() - started) / 1000).toFixed(0)} s)`);
        }
    });
    await engine.knex.raw(dialect.analyze);
    log(`  built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await fold(dialect, engine);
}

const fmt = (ms: number) => ms.toFixed(2).padStart(8);

function peakRssMb(): string {

    return (process.resourceUsage().maxRSS / 1024).toFixed(0);
}

async function benchDialect(name: Dialect, size: number): Promise<Record<string, Figures>> {

    const dialect = dialects[name];
    const url = dialect.url(size);
    log(`\n== ${name}, ${size} resources (${dialect.describe(url)}) ==`);
    await dialect.prepare(url);

    const engine = createDatabaseEngine(url, { min: 0, max: 10 });
    await buildLibrary(dialect, engine, size);

    const queries = benchmarkQueries(createCorpus().vocabulary).map((text) => ({ text, parsed: parseQuery(text) }));
    const config = loadConfig({ NODE_ENV: 'production', DATABASE_URL: url, LOG_LEVEL: 'silent', SEED_DEMO: '0', AUTO_MIGRATE: '0', DB_POOL_MAX: '10' }, rootDir);
    const server = await createServer(config);
    await server.initialize();

    // The backend's page(): exactly the statements the plugin sends through
    // the driver for one page (plus the full ranking when the fast path
    // cannot prove it), without HTTP, validation or shaping the results.
    const backend = dialect.backend(engine.knex);
    const raw = async (query: ParsedQuery) => await backend.page(query, {}, PAGE, 0, EXACT_TOTAL_UP_TO);
    const ranking = dialect.ranking(engine.knex);
    const api = async (text: string) => {

        const res = await server.inject(`/search?q=${encodeURIComponent(text)}&limit=${PAGE}`);
        if (res.statusCode !== 200) {
            throw new Error(`GET /search?q=${text} answered ${res.statusCode}: ${res.payload}`);
        }
    };

    // One warm-up pass each, so caches and prepared plans do not count against the first queries.
    for (const query of queries) {
        await raw(query.parsed);
        await ranking(query.parsed);
        await api(query.text);
    }

    const kinds = ['ranking', 'raw', 'api'] as const;
    type Kind = typeof kinds[number];
    const runners: Record<Kind, (query: { text: string; parsed: ParsedQuery }) => Promise<unknown>> = {
        ranking: (query) => ranking(query.parsed),
        raw: (query) => raw(query.parsed),
        api: (query) => api(query.text)
    };
    // Interleaved: every round runs one pass of the queries for each kind, in
    // an order that rotates round by round, so drift on a shared machine
    // lands on every kind alike.
    const results: Record<string, Figures> = {};
    for (const concurrency of [1, CONCURRENCY]) {
        const samples = Object.fromEntries(kinds.map((kind) => [kind, { durations: [], elapsedMs: 0 } as Samples])) as Record<Kind, Samples>;
        for (let round = 0; round < ROUNDS; ++round) {
            for (let i = 0; i < kinds.length; ++i) {
                const kind = kinds[(round + i) % kinds.length]!;
                await measure(queries.map((query) => () => runners[kind](query)), concurrency, samples[kind]);
            }
        }

        for (const kind of kinds) {
            results[`${kind}-${concurrency}`] = figuresOf(samples[kind]);
        }
    }

    let hits = 0;
    for (const query of queries) {
        const count = dialect.countSql(query.parsed, {});
        hits += Number(dialect.rows(await engine.knex.raw(count.sql, count.bindings))[0]!.total);
    }

    const paths = await dialect.paths(engine.knex, queries.map((query) => query.parsed));
    log(`  ${queries.length} queries × ${ROUNDS} rounds, LIMIT ${PAGE}; mean hits per query ${(hits / queries.length).toFixed(0)}`);
    log(`  ${paths ?? 'every page ranked over every match'}`);
    log('                          p50 ms   p95 ms   req/s');
    for (const concurrency of [1, CONCURRENCY]) {
        const labels: Record<Kind, string> = { ranking: 'ranking only', raw: 'raw SQL', api: 'GET /search' };
        for (const kind of kinds) {
            const figures = results[`${kind}-${concurrency}`]!;
            log(`  ${labels[kind].padEnd(12)} conc ${String(concurrency).padEnd(2)} ${fmt(figures.p50)} ${fmt(figures.p95)} ${figures.perSecond.toFixed(0).padStart(7)}`);
        }

        const k = results[`ranking-${concurrency}`]!;
        const r = results[`raw-${concurrency}`]!;
        const a = results[`api-${concurrency}`]!;
        log(`  ratio API/raw      conc ${String(concurrency).padEnd(2)} p50 ×${(a.p50 / r.p50).toFixed(2)}  p95 ×${(a.p95 / r.p95).toFixed(2)}`);
        log(`  ratio API/ranking  conc ${String(concurrency).padEnd(2)} p50 ×${(a.p50 / k.p50).toFixed(2)}  p95 ×${(a.p95 / k.p95).toFixed(2)}`);
    }

    await server.stop();
    await engine.destroy();
    log(`  peak RSS of this process so far: ${peakRssMb()} MB`);
    return results;
}

async function main(): Promise<void> {

    const chosen = args.dialect === 'both' ? Object.keys(dialects) : [args.dialect!];
    for (const dialect of chosen) {
        if (!Object.hasOwn(dialects, dialect)) {
            throw new Error(`--dialect must be sqlite, postgres or both (got ${dialect})`);
        }

        const bySize = new Map<number, Record<string, Figures>>();
        for (const size of SIZES) {
            bySize.set(size, await benchDialect(dialect as Dialect, size));
        }

        const [first, ...later] = SIZES;
        for (const size of later) {
            const from = bySize.get(first!)!;
            const to = bySize.get(size)!;
            log(`\n  ${dialect} growth ${first} → ${size} (${(size / first!).toFixed(1)}× the library), same run:`);
            for (const key of Object.keys(to)) {
                log(`  ${key.padEnd(12)} p50 ×${(to[key]!.p50 / from[key]!.p50).toFixed(2)}  p95 ×${(to[key]!.p95 / from[key]!.p95).toFixed(2)}`);
            }
        }
    }
}

main().catch((error) => {

    process.stderr.write(`bench:search failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
});
