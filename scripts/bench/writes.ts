// npm run bench:writes — how resource inserts with text scale with
// concurrent writers on PostgreSQL (issue 18: bm25's statistics used to be one
// hot row every writer queued on).
//
//   1. driver: pgbench-style loops through pg, one client per writer, each
//      inserting one resource with a title, a description (~60 words) and
//      subjects per statement (autocommit) for --duration seconds, at 1 and
//      16 writers, into
//        - `resources` with the sharded statistics (the statistics shards are
//          folded between runs, as the upkeep does),
//        - a copy of it without the search triggers (CREATE TABLE …
//          (LIKE resources INCLUDING DEFAULTS): no trigger, no index),
//        - `resources` of a second database at the schema before migration
//          20261204100200 (one corpus row, one row per word),
//      alternating in --rounds rounds whose order flips each round. Prints
//      rows/s (median of the rounds) and the ratios of the targets:
//      16 writers ≥ 0.5 × the copy at 16, and ≥ 3 × 1 writer.
//   2. http (--http): POST /resources against the real server (own process)
//      at 1 and 16 concurrent connections, req/s and p99 (sharded schema).
//   3. reads (unless --skip-replicas): GET /search and GET /resources with one
//      streaming replica in rotation against primary-only, on a primary +
//      standby pair of its own (benchReplicaReads of ./replica-reads.ts, also
//      `npm run bench:replica-reads` alone); target ≥ 0.9 ×.
//
// Options: --duration <s> (5) --rounds <n> (3) --writers <a,b> (1,16)
//          --library <n> (2000 resources loaded first) --http
//          --skip-replicas --replica-resources <n> (20000)
//          --pg-url <url> (postgres://postgres@127.0.0.1:5432/na_writes_bench)
// The database named in --pg-url and the same name + _one_row are dropped
// and recreated, and dropped at the end: use a scratch name.

import { randomUUID } from 'node:crypto';
import Os from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Pg from 'pg';

import { createDatabaseEngine } from '../../server/db/engine';
import { migrationConfig } from '../../server/db/migrations';
import { redactUrl } from '../../server/db/url';
import { positiveInteger } from './options';
import { benchReplicaReads } from './replica-reads';
import { onMaintenanceDatabase, startServe, stopServe, type Running } from './servers';

const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

// --- text ------------------------------------------------------------------

// A fixed vocabulary with a Zipf-like use: a few words in most documents
// (the ones whose statistics rows were hot), most words rare.
const SYLLABLES = ['ka', 'lo', 'mi', 'ster', 'von', 'ra', 'tel', 'qui', 'dor', 'an', 'bel', 'cu', 'fen', 'gra', 'hul', 'is'];
const VOCABULARY = Array.from({ length: 4000 }, (_, i) => {

    let word = '';
    for (let n = i + 1; n > 0; n = Math.floor(n / SYLLABLES.length)) {
        word += SYLLABLES[n % SYLLABLES.length];
    }

    return word;
});

function makeRandom(seed: number): () => number {

    let state = seed >>> 0 || 1;
    return () => {

        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        return (state >>> 0) / 4294967296;
    };
}

function words(random: () => number, count: number): string {

    // Rank ~ 1 / x: index = vocabulary^u - 1.
    return Array.from({ length: count }, () => VOCABULARY[Math.floor(VOCABULARY.length ** random()) - 1]!).join(' ');
}

/** One resource's values: id, title, description (~60 words), subjects. */
export function resourceText(random: () => number): [string, string, string, string] {

    // Two subjects, or one when both draws are the same word (the API refuses duplicates).
    const subjects = [...new Set([words(random, 1), words(random, 1)])];
    return [randomUUID(), words(random, 6), `${words(random, 60)}.`, JSON.stringify(subjects)];
}

// --- database --------------------------------------------------------------

/** A scratch database at the latest schema, or (`before`) at the schema before that migration. */
export async function prepare(url: string, library: number, before?: string): Promise<void> {

    await onMaintenanceDatabase(url, async (admin, name) => {

        await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
        await admin.raw('CREATE DATABASE ??', [name]);
    });
    const engine = createDatabaseEngine(url, { min: 0, max: 1 });
    try {
        await engine.knex.migrate.latest(migrationConfig);
        while (before && (await engine.knex.migrate.list(migrationConfig))[0].some((entry: { name: string }) => entry.name >= before)) {
            await engine.knex.migrate.down(migrationConfig);
        }

        const random = makeRandom(7);
        for (let done = 0; done < library; done += 500) {
            const rows = Array.from({ length: Math.min(500, library - done) }, () => {

                const [id, title, description, subject] = resourceText(random);
                return { id, title, description, subject, creator: 'Bench' };
            });
            await engine.knex('resources').insert(rows);
        }

        // The same table without the search triggers (nor any index): the
        // cost of an insert with nothing derived from its text.
        await engine.knex.raw('CREATE TABLE resources_plain (LIKE resources INCLUDING DEFAULTS)');
        await engine.knex.raw('VACUUM ANALYZE');
    }
    finally {
        await engine.destroy();
    }
}

function dropDatabase(url: string): Promise<void> {

    return onMaintenanceDatabase(url, async (admin, name) => {

        await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
    });
}

// --- driver loops ------------------------------------------------------------

/** What the writers' backends wait on, sampled every 50 ms: share of samples per wait event ('CPU' when none). */
async function sampleWaits(url: string, until: Promise<unknown>): Promise<Record<string, number>> {

    const client = new Pg.Client({ connectionString: url });
    await client.connect();
    const counts: Record<string, number> = {};
    let done = false;
    void until.finally(() => {

        done = true;
    });
    try {
        while (!done) {
            const { rows } = await client.query(`
                SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait, count(*)::integer AS n FROM pg_stat_activity
                WHERE application_name = 'bench-writes' AND datname = current_database() AND state = 'active' GROUP BY 1`);
            for (const row of rows) {
                counts[row.wait] = (counts[row.wait] ?? 0) + row.n;
            }

            await new Promise((resolve) => setTimeout(resolve, 50));
        }
    }
    finally {
        await client.end();
    }

    const total = Object.values(counts).reduce((sum, n) => sum + n, 0) || 1;
    return Object.fromEntries(Object.entries(counts).map(([wait, n]) => [wait, n / total]));
}

/** Rows per second that `writers` clients inserted into `table` in `seconds`, and what their backends waited on. */
export async function insertRate(url: string, table: string, writers: number, seconds: number, seed: number): Promise<{ rate: number; waits: Record<string, number> }> {

    const clients = await Promise.all(Array.from({ length: writers }, async () => {

        const client = new Pg.Client({ connectionString: url, application_name: 'bench-writes' });
        await client.connect();
        return client;
    }));
    try {
        const sql = `INSERT INTO ${table} (id, title, description, subject, creator) VALUES ($1, $2, $3, $4::jsonb, 'Bench')`;
        const deadline = Date.now() + seconds * 1000;
        const started = Date.now();
        const inserting = Promise.all(clients.map(async (client, i) => {

            const random = makeRandom(seed * 1000 + i + 1);
            let rows = 0;
            while (Date.now() < deadline) {
                // A named statement: parsed and planned once per client, as pgbench -M prepared.
                await client.query({ name: 'insert', text: sql, values: resourceText(random) });
                ++rows;
            }

            return rows;
        }));
        const [counts, waits] = await Promise.all([inserting, sampleWaits(url, inserting)]);
        return { rate: counts.reduce((sum, n) => sum + n, 0) / ((Date.now() - started) / 1000), waits };
    }
    finally {
        await Promise.all(clients.map((client) => client.end()));
    }
}

const median = (values: number[]) => {

    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** One kind of insert: a table of a database. */
export interface Contender {
    label: string;
    url: string;
    table: string;
    /** Run between measurements, as the upkeep would (folding the statistics shards). */
    upkeep?: string;
}

export interface WriteFigures {
    /** Median rows/s per contender and writer count, e.g. 'sharded@16'. */
    rates: Record<string, number>;
    /** Medians of the per-round ratios: the first contender at most writers vs each other contender there, and vs itself at fewest. */
    ratios: Record<string, number>;
}

export async function benchWrites(contenders: Contender[], options: { seconds: number; rounds: number; writers: number[] }): Promise<WriteFigures> {

    const samples: Record<string, number[]> = {};
    const ratios: Record<string, number[]> = {};
    const [few, many] = [Math.min(...options.writers), Math.max(...options.writers)];
    const main = contenders[0]!;
    for (let round = 0; round < options.rounds; ++round) {
        // The order flips each round, so drift on a shared machine hits every contender alike.
        const order = round % 2 ? [...contenders].reverse() : contenders;
        const rates: Record<string, number> = {};
        for (const writers of round % 2 ? [...options.writers].reverse() : options.writers) {
            for (const contender of order) {
                const { rate, waits } = await insertRate(contender.url, contender.table, writers, options.seconds, round * 100 + writers);
                const key = `${contender.label}@${writers}`;
                rates[key] = rate;
                (samples[key] ??= []).push(rate);
                const top = Object.entries(waits).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([wait, share]) => `${wait} ${(share * 100).toFixed(0)}%`);
                log(`round ${round + 1}: ${key.padEnd(24)} ${rate.toFixed(0).padStart(6)} rows/s; active backends: ${top.join(', ')}`);
                if (contender.upkeep) {
                    const client = new Pg.Client({ connectionString: contender.url });
                    await client.connect();
                    await client.query(contender.upkeep).finally(() => client.end());
                }
            }
        }

        for (const other of contenders.slice(1)) {
            (ratios[`${main.label}@${many} / ${other.label}@${many}`] ??= []).push(rates[`${main.label}@${many}`]! / rates[`${other.label}@${many}`]!);
        }

        for (const contender of contenders) {
            (ratios[`${contender.label}@${many} / ${contender.label}@${few}`] ??= []).push(rates[`${contender.label}@${many}`]! / rates[`${contender.label}@${few}`]!);
        }
    }

    return {
        rates: Object.fromEntries(Object.entries(samples).map(([key, values]) => [key, median(values)])),
        ratios: Object.fromEntries(Object.entries(ratios).map(([key, values]) => [key, median(values)]))
    };
}

// --- HTTP ----------------------------------------------------------------------

const SHARDS_MIGRATION = '20261204100200_search_stats_shards.ts';

function startServer(url: string, port: number): Promise<Running> {

    const env = { NODE_ENV: 'production', LOG_LEVEL: 'warn', DATABASE_URL: url, ENABLE_CONSOLE: '0', DB_POOL_MAX: '20' };
    return startServe('the server', 'hapi', port, [JSON.stringify(env)]);
}

export async function benchHttpWrites(url: string, options: { seconds: number; writers: number[]; port: number }): Promise<Record<string, { rps: number; p99: number; errors: string }>> {

    const server = await startServer(url, options.port);
    const random = makeRandom(99);
    const figures: Record<string, { rps: number; p99: number; errors: string }> = {};
    try {
        for (const connections of options.writers) {
            const result = await autocannon({
                url: `http://127.0.0.1:${options.port}/resources`,
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                connections,
                duration: options.seconds,
                requests: [{
                    setupRequest: (request) => {

                        const [, title, description, subject] = resourceText(random);
                        return { ...request, body: JSON.stringify({ title, description, subject: JSON.parse(subject) }) };
                    }
                }]
            });
            const statuses = Object.entries(result.statusCodeStats ?? {}).filter(([code]) => code !== '201').map(([code, { count }]) => `${count} × ${code}`);
            const errors = `${statuses.length ? statuses.join(', ') : 'no other status'}, ${result.errors} errors (${result.timeouts} timeouts)`;
            figures[`POST /resources@${connections}`] = { rps: result.requests.average, p99: result.latency.p99, errors };
            log(`http: POST /resources at ${connections} connections: ${result.requests.average.toFixed(0)} req/s, p99 ${result.latency.p99} ms, ${errors}`);
        }
    }
    finally {
        await stopServe(server);
    }

    return figures;
}

// --- main ------------------------------------------------------------------

async function main(): Promise<void> {

    const { values: args } = parseArgs({
        options: {
            duration: { type: 'string', default: '5' },
            rounds: { type: 'string', default: '3' },
            writers: { type: 'string', default: '1,16' },
            library: { type: 'string', default: '2000' },
            http: { type: 'boolean', default: false },
            // The read-replica half of the benchmark (own primary + standby pair).
            'skip-replicas': { type: 'boolean', default: false },
            'replica-resources': { type: 'string', default: '20000' },
            port: { type: 'string', default: '3461' },
            'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/na_writes_bench' }
        }
    });
    const seconds = positiveInteger('duration', args.duration, 3600);
    const rounds = positiveInteger('rounds', args.rounds, 100);
    const library = positiveInteger('library', args.library, 10_000_000);
    const port = positiveInteger('port', args.port, 65_000);
    const writers = args.writers!.split(',').map((value) => positiveInteger('writers', value, 90));
    const url = args['pg-url']!;
    const replicaResources = positiveInteger('replica-resources', args['replica-resources'], 10_000_000);

    // The same schema before the statistics were sharded, for comparison.
    const oneRowUrl = `${url}_one_row`;
    log(`PostgreSQL ${redactUrl(url)}, ${Os.cpus().length} cores, load average ${Os.loadavg().map((n) => n.toFixed(1)).join(' ')}`);
    try {
        await prepare(url, library);
        await prepare(oneRowUrl, library, SHARDS_MIGRATION);
        const settings = new Pg.Client({ connectionString: url });
        await settings.connect();
        const { rows } = await settings.query(`SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sync,
            current_setting('fsync') AS fsync, current_setting('wal_sync_method') AS method, current_setting('commit_delay') AS delay`);
        await settings.end();
        log(`server ${rows[0].version}: synchronous_commit=${rows[0].sync}, fsync=${rows[0].fsync}, wal_sync_method=${rows[0].method}, commit_delay=${rows[0].delay}; library of ${library} resources`);

        const driver = await benchWrites([
            { label: 'sharded', url, table: 'resources', upkeep: 'SELECT search_stats_fold()' },
            { label: 'no search triggers', url, table: 'resources_plain' },
            { label: 'one-row statistics', url: oneRowUrl, table: 'resources' }
        ], { seconds, rounds, writers });
        const [few, many] = [Math.min(...writers), Math.max(...writers)];
        console.log(`\ninserts of resources with text through the driver, one client per writer (rows/s, median of ${rounds} rounds):`);
        for (const [key, rate] of Object.entries(driver.rates).sort()) {
            console.log(`  ${key.padEnd(26)} ${rate.toFixed(0).padStart(7)}`);
        }

        console.log('ratios (median of the per-round ratios):');
        for (const [key, ratio] of Object.entries(driver.ratios)) {
            console.log(`  ${key.padEnd(50)} ${ratio.toFixed(2)}`);
        }

        const verdict = (ok: boolean) => ok ? 'meets' : 'MISSES';
        const vsPlain = driver.ratios[`sharded@${many} / no search triggers@${many}`]!;
        const vsFew = driver.ratios[`sharded@${many} / sharded@${few}`]!;
        console.log(`targets: ${many} writers ≥ 0.5 × the trigger-less copy: ${vsPlain.toFixed(2)} (${verdict(vsPlain >= 0.5)}); ≥ 3 × ${few} writer(s): ${vsFew.toFixed(2)} (${verdict(vsFew >= 3)})`);

        if (args.http) {
            // (The server refuses to start on the older schema, so only the sharded one.)
            console.log('\nPOST /resources through the server (own process, pool of 20):');
            const http = await benchHttpWrites(url, { seconds, writers, port });
            for (const [key, figure] of Object.entries(http)) {
                console.log(`  ${key.padEnd(22)} ${figure.rps.toFixed(0).padStart(7)} req/s, p99 ${figure.p99} ms, ${figure.errors}`);
            }
        }

        if (!args['skip-replicas']) {
            console.log('\nreads with one streaming replica in rotation against primary-only (own clusters; --skip-replicas skips):');
            const reads = await benchReplicaReads({ resources: replicaResources, rounds, duration: seconds, port: port + 10 });
            if (reads.non200 > 0 || reads.replicaReads === 0) {
                throw new Error(`the replica-read benchmark saw ${reads.non200} non-200 responses and ${reads.replicaReads} replica reads`);
            }
        }
    }
    finally {
        await dropDatabase(url);
        await dropDatabase(oneRowUrl);
    }
}

if (require.main === module) {
    main().catch((error) => {

        console.error(error);
        process.exit(1);
    });
}
