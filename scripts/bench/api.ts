// npm run bench:api — throughput of GET /resources/{id} and behaviour under
// load. Every server runs in its own process; autocannon runs here.
//
//   1. PostgreSQL: a bare node:http + pg server vs the Hapi server with
//      monitoring on (default attribution through request-stamped queries),
//      on with AsyncLocalStorage attribution (QUERY_ATTRIBUTION=async), and
//      off, in short alternating rounds (the order flips each round so drift
//      on a shared machine hits every contender alike); each ratio's verdict
//      is the median of its per-round ratios;
//   2. SQLite: the Hapi server in the same three monitoring modes, alternating;
//   3. 200 concurrent clients for 30 s against a PostgreSQL pool of max 60;
//   4. a pool of max 2 and 500 ms queries: who gets a connection is served,
//      the rest get 503 + Retry-After within the acquire timeout;
//   5. PgBouncer: the same Hapi server connected directly and through a
//      PgBouncer in transaction mode (docs/pgbouncer.ini, started here), and
//      the bare server, alternating;
//   6. database: GET /monitoring/database p50/p95 on a generated library of
//      --library resources (100,000) on each dialect, while 10 clients read
//      resources (target ≤ 100 ms p95).
//
// Options: --duration <s> (2) --connections <n> (50) --rounds <n> (15)
//          --load-duration <s> (30) --load-connections <n> (200)
//          --pg-url <url> (postgres://postgres@127.0.0.1:5432/na_monitoring_bench)
//          --port <first port> (3401) --phases compare,sqlite,load,saturation,pgbouncer,database
//          --library <n> (100000) --database-samples <n> (200)
// The PostgreSQL database named in --pg-url is dropped and recreated: use a
// scratch database (the database phase uses <name>_library beside it, also
// dropped at the end).

import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import type { Knex as KnexType } from 'knex';

import type { Env } from '../../server/config';
import { createDatabaseEngine } from '../../server/db/engine';
import { migrationConfig } from '../../server/db/migrations';
import { forDialect, redactUrl } from '../../server/db/url';
import { bindModels } from '../../server/models';
import { startPgBouncer } from '../../test/helpers/pgbouncer';
import { createCorpus, insertCorpus } from '../../test/helpers/search-corpus';
import { positiveInteger } from './options';
import { onMaintenanceDatabase, startServe, stopServe, type Running } from './servers';

const { values: args } = parseArgs({
    options: {
        duration: { type: 'string', default: '2' },
        connections: { type: 'string', default: '50' },
        rounds: { type: 'string', default: '15' },
        'load-duration': { type: 'string', default: '30' },
        'load-connections': { type: 'string', default: '200' },
        'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/na_monitoring_bench' },
        port: { type: 'string', default: '3401' },
        phases: { type: 'string', default: 'compare,sqlite,load,saturation,pgbouncer,database' },
        library: { type: 'string', default: '100000' },
        'database-samples': { type: 'string', default: '200' }
    }
});

const DURATION = positiveInteger('duration', args.duration, 3600);
const CONNECTIONS = positiveInteger('connections', args.connections, 1000);
const ROUNDS = positiveInteger('rounds', args.rounds, 100);
const PG_URL = args['pg-url']!;
const PHASES = new Set(args.phases!.split(','));
const KNOWN_PHASES = ['compare', 'sqlite', 'load', 'saturation', 'pgbouncer', 'database'];
for (const phase of PHASES) {
    if (!KNOWN_PHASES.includes(phase)) {
        console.error(`--phases takes a comma-separated list of ${KNOWN_PHASES.join(', ')} (got ${JSON.stringify(phase)})`);
        process.exit(2);
    }
}

const ADMIN_TOKEN = 'bench-admin-token-0123456789';
// Production needs one (the same on every instance); a bench's own, not a secret.
const BENCH_SESSION_SECRET = 'bench-session-secret-not-a-secret-0123456789';
const RESOURCES = 1000;

let nextPort = positiveInteger('port', args.port, 65_000);
const children = new Set<ChildProcess>();

const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

// --- databases -------------------------------------------------------------

function recreatePostgres(url: string): Promise<void> {

    return onMaintenanceDatabase(url, async (admin, name) => {

        await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
        await admin.raw('CREATE DATABASE ??', [name]);
    });
}

function dropPostgres(url: string): Promise<void> {

    return onMaintenanceDatabase(url, async (admin, name) => {

        await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
    });
}

/** Builds the schema and RESOURCES resources; returns their ids. */
async function prepare(url: string): Promise<string[]> {

    const engine = createDatabaseEngine(url, { min: 0, max: 1 });
    try {
        await engine.knex.migrate.latest(migrationConfig);
        const { Resource } = bindModels(engine.knex);
        const ids: string[] = [];
        await engine.knex.transaction(async (trx: KnexType.Transaction) => {

            for (let i = 0; i < RESOURCES; ++i) {
                const id = randomUUID();
                await Resource.query(trx).insert({
                    id,
                    title: `Benchmark resource ${i}`,
                    description: `A resource the API benchmark reads back by its primary key (${i}).`,
                    creator: 'Bench',
                    subject: ['benchmark', `subject-${i % 10}`],
                    quality_score: (i % 100) / 100
                } as any);
                ids.push(id);
            }
        });

        return ids;
    }
    finally {
        await engine.destroy();
    }
}

// --- servers ---------------------------------------------------------------

async function start(name: string, argv: string[]): Promise<Running> {

    const server = await startServe(name, argv[0]!, nextPort++, argv.slice(1));
    children.add(server.child);
    return server;
}

function startHapi(name: string, env: Env): Promise<Running> {

    const full: Env = { NODE_ENV: 'production', LOG_LEVEL: 'warn', ADMIN_TOKEN, SESSION_SECRET: BENCH_SESSION_SECRET, ENABLE_CONSOLE: '0', ...env };
    return start(name, ['hapi', JSON.stringify(full)]);
}

async function stop(server: Running): Promise<void> {

    await stopServe(server);
    children.delete(server.child);
}

// --- load ------------------------------------------------------------------

// CPU time a process has used, from /proc (Linux); null elsewhere. On a
// shared machine req/s swings with the neighbours' load, CPU time per request
// much less: it is the cost a request has, whoever else runs.
const CLOCK_TICKS = 100;

function cpuMs(pid: number | undefined): number | null {

    try {
        const stat = Fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(fields[11]) + Number(fields[12])) * 1000 / CLOCK_TICKS;
    }
    catch {
        return null;
    }
}

interface Run {
    name: string;
    rps: number;
    maxMs: number;
    /** Server CPU per request in microseconds (null without /proc). */
    cpuUs: number | null;
    p50: number;
    p99: number;
    statuses: Record<string, number>;
    errors: number;
    timeouts: number;
}

async function hit(server: Running, ids: string[], options: { connections: number; duration: number; path?: string; timeout?: number }): Promise<Run> {

    let i = Math.floor(Math.random() * ids.length);
    const cpuBefore = cpuMs(server.child.pid);
    const result = await autocannon({
        url: `http://127.0.0.1:${server.port}`,
        connections: options.connections,
        duration: options.duration,
        timeout: options.timeout ?? 10,
        requests: [{
            method: 'GET',
            setupRequest: (request) => ({ ...request, path: options.path ?? `/resources/${ids[i++ % ids.length]}` })
        }]
    });

    const cpuAfter = cpuMs(server.child.pid);
    const statuses: Record<string, number> = {};
    for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) {
        statuses[code] = count ?? 0;
    }

    return {
        name: server.name,
        rps: result.requests.total / result.duration,
        cpuUs: cpuBefore === null || cpuAfter === null || !result.requests.total ? null : (cpuAfter - cpuBefore) * 1000 / result.requests.total,
        p50: result.latency.p50,
        p99: result.latency.p99,
        maxMs: result.latency.max,
        statuses,
        errors: result.errors,
        timeouts: result.timeouts
    };
}

const fmt = (run: Run) => `${run.name.padEnd(26)} ${run.rps.toFixed(0).padStart(6)} req/s  ${run.cpuUs === null ? '' : `${run.cpuUs.toFixed(0)} µs CPU/req  `}p50 ${run.p50} ms  p99 ${run.p99} ms  statuses ${JSON.stringify(run.statuses)}${run.errors ? `  errors ${run.errors}` : ''}${run.timeouts ? `  timeouts ${run.timeouts}` : ''}`;

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/**
 * Alternating rounds; the order is reversed every other round. Servers are
 * listed so that each pair with a target runs back to back in every round
 * (bare, on, off, then the reference): the shorter the gap, the more alike
 * the machine both of a pair meet.
 */
async function alternate(servers: Running[], ids: string[]): Promise<Map<string, Run[]>> {

    const runs = new Map<string, Run[]>(servers.map((server) => [server.name, []]));
    for (const server of servers) {
        log(`warm-up ${server.name}`);
        await hit(server, ids, { connections: CONNECTIONS, duration: 3 });
    }

    for (let round = 0; round < ROUNDS; ++round) {
        const order = round % 2 ? [...servers].reverse() : servers;
        for (const server of order) {
            const run = await hit(server, ids, { connections: CONNECTIONS, duration: DURATION });
            runs.get(server.name)!.push(run);
            log(`round ${round + 1}/${ROUNDS}  ${fmt(run)}`);
        }
    }

    return runs;
}

const summary: string[] = [];

function median(values: number[]): number {

    const sorted = [...values].sort((x, y) => x - y);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The throughput ratio of two contenders. Each round pairs runs made minutes
 * apart at most, so a round's ratio is measured under one state of the
 * (shared, noisy) machine; the verdict is the median of those paired ratios,
 * which a round disturbed by a neighbour cannot move. The ratio of the mean
 * rates is printed beside it.
 */
function ratio(runs: Map<string, Run[]>, numerator: string, denominator: string, target: number | null): void {

    const a = mean(runs.get(numerator)!.map((run) => run.rps));
    const b = mean(runs.get(denominator)!.map((run) => run.rps));
    const perRound = runs.get(numerator)!.map((run, i) => run.rps / runs.get(denominator)![i]!.rps).sort((x, y) => x - y);
    const paired = median(perRound);
    const verdict = target === null ? 'for reference' : `target ≥ ${target}×: ${paired >= target ? 'met' : 'NOT met'}`;
    const meeting = target === null ? '' : `, ${perRound.filter((value) => value >= target).length} of ${perRound.length} rounds ≥ ${target}`;
    const spread = perRound.length > 1 ? `per round ${perRound[0]!.toFixed(3)}–${perRound[perRound.length - 1]!.toFixed(3)}${meeting}` : 'one round';
    let line = `${numerator} / ${denominator}: median of ${perRound.length} paired rounds ${paired.toFixed(3)}× (${verdict}; ${spread}); ` +
        `mean rates ${a.toFixed(0)} / ${b.toFixed(0)} req/s = ${(a / b).toFixed(3)}×`;
    const cpuA = runs.get(numerator)!.map((run) => run.cpuUs);
    const cpuB = runs.get(denominator)!.map((run) => run.cpuUs);
    if (![...cpuA, ...cpuB].includes(null)) {
        // Requests per CPU-second: what the throughput ratio would be on an otherwise idle, CPU-bound machine.
        const perCpu = mean(cpuB as number[]) / mean(cpuA as number[]);
        line += `; CPU per request ${mean(cpuA as number[]).toFixed(0)} / ${mean(cpuB as number[]).toFixed(0)} µs = ${perCpu.toFixed(3)}× requests per CPU-second`;
    }

    summary.push(line);
    log(line);
}

// --- phases ----------------------------------------------------------------

async function compare(ids: string[]): Promise<void> {

    log(`phase 1: PostgreSQL, bare node:http + pg vs Hapi (monitoring on, on with AsyncLocalStorage attribution, off); ${CONNECTIONS} connections, ${DURATION} s × ${ROUNDS} rounds`);
    // Four servers at once: 4 × 12 connections stays well under max_connections.
    const pool = { DB_POOL_MIN: '4', DB_POOL_MAX: '12' };
    const servers = await Promise.all([
        start('pg bare node:http+pg', ['bare', PG_URL, '12']),
        startHapi('pg monitoring on', { DATABASE_URL: PG_URL, ...pool, ENABLE_MONITORING: '1' }),
        startHapi('pg monitoring off', { DATABASE_URL: PG_URL, ...pool, ENABLE_MONITORING: '0' }),
        startHapi('pg monitoring, ALS', { DATABASE_URL: PG_URL, ...pool, ENABLE_MONITORING: '1', QUERY_ATTRIBUTION: 'async' })
    ]);
    try {
        const runs = await alternate(servers, ids);
        ratio(runs, 'pg monitoring on', 'pg bare node:http+pg', 0.7);
        ratio(runs, 'pg monitoring off', 'pg bare node:http+pg', 0.7);
        ratio(runs, 'pg monitoring on', 'pg monitoring off', 0.9);
        ratio(runs, 'pg monitoring, ALS', 'pg monitoring off', null);
    }
    finally {
        await Promise.all(servers.map(stop));
    }
}

async function sqlite(): Promise<void> {

    const file = Path.join(Os.tmpdir(), `na_monitoring_bench-${process.pid}.db`);
    const url = `sqlite:${file}`;
    log(`phase 2: SQLite, Hapi monitoring on vs off; ${CONNECTIONS} connections, ${DURATION} s × ${ROUNDS} rounds`);
    try {
        const ids = await prepare(url);
        const servers = await Promise.all([
            startHapi('sqlite monitoring on', { DATABASE_URL: url, ENABLE_MONITORING: '1' }),
            startHapi('sqlite monitoring off', { DATABASE_URL: url, ENABLE_MONITORING: '0' }),
            startHapi('sqlite monitoring, ALS', { DATABASE_URL: url, ENABLE_MONITORING: '1', QUERY_ATTRIBUTION: 'async' })
        ]);
        try {
            const runs = await alternate(servers, ids);
            ratio(runs, 'sqlite monitoring on', 'sqlite monitoring off', 0.9);
            ratio(runs, 'sqlite monitoring, ALS', 'sqlite monitoring off', null);
        }
        finally {
            await Promise.all(servers.map(stop));
        }
    }
    finally {
        for (const suffix of ['', '-wal', '-shm']) {
            Fs.rmSync(`${file}${suffix}`, { force: true });
        }
    }
}

async function monitoringReport(server: Running): Promise<any> {

    const res = await fetch(`http://127.0.0.1:${server.port}/monitoring/database`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return await res.json();
}

async function load(ids: string[]): Promise<void> {

    const connections = positiveInteger('load-connections', args['load-connections'], 1000);
    const duration = positiveInteger('load-duration', args['load-duration'], 3600);
    log(`phase 3: ${connections} clients × ${duration} s against PostgreSQL, pool min 20 / max 60, monitoring on`);
    const server = await startHapi('pg pool 60', { DATABASE_URL: PG_URL, DB_POOL_MIN: '20', DB_POOL_MAX: '60', ENABLE_MONITORING: '1' });
    try {
        log('warm-up (5 s, 50 clients)');
        await hit(server, ids, { connections: 50, duration: 5 });
        // A 30 s client timeout: a slow answer is measured instead of dropped.
        const run = await hit(server, ids, { connections, duration, timeout: 30 });
        const report = await monitoringReport(server);
        const fiveHundreds = Object.entries(run.statuses).filter(([code]) => code >= '500' && code !== '503').reduce((sum, [, count]) => sum + count, 0);
        const line = `${connections} clients: ${run.rps.toFixed(0)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms, max ${run.maxMs} ms, statuses ${JSON.stringify(run.statuses)}, ` +
            `5xx other than 503: ${fiveHundreds}, socket errors ${run.errors}, timeouts ${run.timeouts}; pool afterwards: ` +
            `open ${report.pool.open}, acquire p95 ${report.pool.acquire.p95_ms} ms (last 60 s), acquire timeouts ${report.pool.acquire_timeouts}`;
        summary.push(line);
        log(line);
    }
    finally {
        await stop(server);
    }
}

async function saturation(): Promise<void> {

    const acquireTimeout = 1000;
    log(`phase 4: pool max 2, acquire timeout ${acquireTimeout} ms, 20 clients on a 500 ms query for 8 s`);
    const server = await startHapi('pg pool 2', {
        DATABASE_URL: PG_URL, DB_POOL_MIN: '0', DB_POOL_MAX: '2', DB_ACQUIRE_TIMEOUT_MS: String(acquireTimeout), ENABLE_MONITORING: '1'
    });
    try {
        const loading = hit(server, [], { connections: 20, duration: 8, path: '/bench/slow?ms=500' });
        await new Promise((resolve) => setTimeout(resolve, 3000));
        const probes: Array<{ status: number; retryAfter: string | null; ms: number }> = [];
        for (let i = 0; i < 5; ++i) {
            const started = performance.now();
            const res = await fetch(`http://127.0.0.1:${server.port}/bench/slow?ms=500`);
            await res.arrayBuffer();
            probes.push({ status: res.status, retryAfter: res.headers.get('retry-after'), ms: Math.round(performance.now() - started) });
        }

        const run = await loading;
        const report = await monitoringReport(server);
        const refused = probes.filter((probe) => probe.status === 503);
        const line = `pool max 2: statuses ${JSON.stringify(run.statuses)}, p99 ${run.p99} ms; probes ${JSON.stringify(probes)}; ` +
            `every 503 had Retry-After: ${refused.every((probe) => probe.retryAfter !== null)}; slowest 503 ${Math.max(0, ...refused.map((probe) => probe.ms))} ms ` +
            `(acquire timeout ${acquireTimeout} ms); acquire timeouts counted ${report.pool.acquire_timeouts}`;
        summary.push(line);
        log(line);

        const after = await fetch(`http://127.0.0.1:${server.port}/bench/slow?ms=10`);
        summary.push(`pool max 2, after the load: ${after.status} (recovered: ${after.status === 200})`);
        log(summary[summary.length - 1]!);
    }
    finally {
        await stop(server);
    }
}

async function pgbouncer(ids: string[]): Promise<void> {

    log(`phase 5: PostgreSQL through PgBouncer (transaction mode, docs/pgbouncer.ini) vs direct vs bare node:http + pg; ${CONNECTIONS} connections, ${DURATION} s × ${ROUNDS} rounds`);
    const bouncer = await startPgBouncer({ serverUrl: PG_URL });
    const pool = { DB_POOL_MIN: '4', DB_POOL_MAX: '12' };
    try {
        const servers = await Promise.all([
            startHapi('pg through pgbouncer', { DATABASE_URL: bouncer.url(PG_URL), DATABASE_DIRECT_URL: PG_URL, ...pool }),
            startHapi('pg direct', { DATABASE_URL: PG_URL, ...pool }),
            start('pg bare node:http+pg', ['bare', PG_URL, '12'])
        ]);
        try {
            const runs = await alternate(servers, ids);
            ratio(runs, 'pg through pgbouncer', 'pg direct', 0.8);
            ratio(runs, 'pg direct', 'pg bare node:http+pg', 0.7);
        }
        finally {
            await Promise.all(servers.map(stop));
        }
    }
    finally {
        await bouncer.stop();
    }
}

/** Builds the schema and a generated library of `size` resources, in batches. */
async function prepareLibrary(url: string, size: number): Promise<void> {

    const engine = createDatabaseEngine(url, { min: 0, max: 1 });
    try {
        await engine.knex.migrate.latest(migrationConfig);
        const started = performance.now();
        let reported = 0;
        await insertCorpus(engine.knex, createCorpus().resources(size), (inserted) => {

            if (inserted - reported >= size / 5 || inserted === size) {
                reported = inserted;
                log(`  ${inserted}/${size} resources (${((performance.now() - started) / 1000).toFixed(0)} s)`);
            }
        });
        await engine.knex.raw(forDialect(engine.type, { postgres: 'VACUUM ANALYZE', sqlite: 'ANALYZE' }));
    }
    finally {
        await engine.destroy();
    }
}

const percentileOf = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;

/** GET /monitoring/database, one at a time, while 10 clients read pages of resources. */
async function databaseLatency(name: string, env: Env, samples: number): Promise<void> {

    const server = await startHapi(name, { ...env, ENABLE_MONITORING: '1' });
    try {
        // The first report reads the server version: not what an operator waits for later.
        await monitoringReport(server);
        // Long enough to cover the samples at a few tens of ms each; waited for below.
        const loading = hit(server, [], { connections: 10, duration: 10 + Math.ceil(samples / 20), path: '/resources?limit=20' });
        const durations: number[] = [];
        let failures = 0;
        for (let i = 0; i < samples; ++i) {
            const started = performance.now();
            const res = await fetch(`http://127.0.0.1:${server.port}/monitoring/database`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
            const body = await res.json() as { stats_error?: string };
            durations.push(performance.now() - started);
            failures += res.status !== 200 || body.stats_error ? 1 : 0;
        }

        durations.sort((a, b) => a - b);
        const p95 = percentileOf(durations, 0.95);
        const line = `${name}: GET /monitoring/database p50 ${percentileOf(durations, 0.5).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${durations[durations.length - 1]!.toFixed(1)} ms ` +
            `over ${samples} requests under 10 readers (target p95 ≤ 100 ms: ${p95 <= 100 ? 'met' : 'NOT met'}); failed or without figures: ${failures}`;
        summary.push(line);
        log(line);
        const load = await loading;
        log(`  readers meanwhile: ${load.rps.toFixed(0)} req/s, statuses ${JSON.stringify(load.statuses)}`);
    }
    finally {
        await stop(server);
    }
}

async function databasePhase(): Promise<void> {

    const size = positiveInteger('library', args.library, 10_000_000);
    const samples = positiveInteger('database-samples', args['database-samples'], 100_000);
    log(`phase 6: GET /monitoring/database on a library of ${size} resources, both dialects`);
    const parsed = new URL(PG_URL);
    parsed.pathname = `${parsed.pathname}_library`;
    const pgLibrary = parsed.toString();
    const file = Path.join(Os.tmpdir(), `na_monitoring_library-${process.pid}.db`);
    try {
        log(`  PostgreSQL ${redactUrl(pgLibrary)}`);
        await recreatePostgres(pgLibrary);
        await prepareLibrary(pgLibrary, size);
        await databaseLatency(`pg, ${size} resources`, { DATABASE_URL: pgLibrary, DB_POOL_MIN: '4', DB_POOL_MAX: '12' }, samples);
        log(`  SQLite ${file}`);
        await prepareLibrary(`sqlite:${file}`, size);
        await databaseLatency(`sqlite, ${size} resources`, { DATABASE_URL: `sqlite:${file}` }, samples);
    }
    finally {
        await dropPostgres(pgLibrary);
        for (const suffix of ['', '-wal', '-shm']) {
            Fs.rmSync(`${file}${suffix}`, { force: true });
        }
    }
}

async function main(): Promise<void> {

    log(`node ${process.version}, ${Os.cpus().length} CPUs (shared: figures are noisy; rounds alternate so drift hits every contender)`);
    log(`PostgreSQL scratch database ${redactUrl(PG_URL)}: recreating and loading ${RESOURCES} resources`);
    const needsPg = ['compare', 'load', 'saturation', 'pgbouncer'].some((phase) => PHASES.has(phase));
    try {
        const ids = needsPg ? (await recreatePostgres(PG_URL), await prepare(PG_URL)) : [];
        if (PHASES.has('compare')) {
            await compare(ids);
        }

        if (PHASES.has('sqlite')) {
            await sqlite();
        }

        if (PHASES.has('load')) {
            await load(ids);
        }

        if (PHASES.has('saturation')) {
            await saturation();
        }

        if (PHASES.has('pgbouncer')) {
            await pgbouncer(ids);
        }

        if (PHASES.has('database')) {
            await databasePhase();
        }
    }
    finally {
        for (const child of children) {
            child.kill('SIGTERM');
        }

        if (needsPg) {
            await dropPostgres(PG_URL);
        }
    }

    console.log('\nSummary');
    for (const line of summary) {
        console.log(`  ${line}`);
    }
}

main().catch((error: unknown) => {

    console.error(`bench:api failed: ${(error as Error)?.stack ?? error}`);
    process.exit(1);
});
