// npm run bench:replica-reads — what routing reads to a replica costs: read
// throughput of GET /search and GET /resources with one streaming replica in
// rotation against the same server on the primary alone. Target: ≥ 0.9 ×
// primary-only (both clusters share this machine's cores; the point is that
// routing, lag sampling and the token check cost little).
//
// A primary + streaming standby pair of its own (initdb, pg_basebackup -R in
// a temporary directory, free ports; test/helpers/replica-pair.ts), a library
// of --resources resources, then two servers, each in its own process, in
// alternating rounds (the order flips every round); the verdict is the
// median of the per-round ratios. Everything is removed at the end.
//
// Options: --resources <n> (20000) --rounds <n> (6) --duration <s> (3)
//          --connections <n> (20) --port <first port> (3461)
//
// benchReplicaReads(options) runs the same from another script (bench:writes).

import { randomUUID } from 'node:crypto';
import Os from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

import type { Env } from '../../server/config';
import { createDatabaseEngine } from '../../server/db/engine';
import { migrationConfig } from '../../server/db/migrations';
import { startReplicaPair, type ReplicaPair } from '../../test/helpers/replica-pair';
import { positiveInteger } from './options';
import { startServe, stopServe, type Running } from './servers';

export interface ReplicaReadsOptions {
    resources?: number;
    rounds?: number;
    /** Seconds per measurement. */
    duration?: number;
    connections?: number;
    /** First TCP port of the two servers. */
    port?: number;
    log?: (line: string) => void;
}

export interface ReplicaReadsRoute {
    path: string;
    /** Median req/s over the rounds. */
    replicaRps: number;
    primaryRps: number;
    /** Median of the per-round ratios replica / primary-only. */
    ratio: number;
}

export interface ReplicaReadsResult {
    routes: ReplicaReadsRoute[];
    /** Reads the replica served during the runs (from /monitoring/database). */
    replicaReads: number;
    /** Responses other than 200, over every run. */
    non200: number;
    target: number;
}

const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const SESSION_SECRET = 'bench-session-secret-not-a-secret-0123456789';
const DATABASE = 'library';
const TARGET = 0.9;
const WORDS = ['river', 'archive', 'lantern', 'harbour', 'meadow', 'copper', 'signal', 'orchard', 'glacier', 'compass', 'ember', 'atlas'];

const median = (values: number[]) => {

    const sorted = [...values].sort((x, y) => x - y);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function loadLibrary(url: string, count: number): Promise<void> {

    const engine = createDatabaseEngine(url, { min: 0, max: 1 });
    try {
        await engine.knex.migrate.latest(migrationConfig);
        const batch = 500;
        for (let start = 0; start < count; start += batch) {
            const rows = [];
            for (let i = start; i < Math.min(count, start + batch); ++i) {
                const word = (k: number) => WORDS[(i * 7 + k * 3) % WORDS.length];
                rows.push({
                    id: randomUUID(),
                    title: `${word(0)} ${word(1)} number ${i}`,
                    description: `A ${word(2)} by the ${word(3)}: resource ${i} of the replica benchmark, about ${word(4)} and ${word(5)}.`,
                    creator: 'Bench',
                    subject: JSON.stringify(['benchmark', `subject-${i % 10}`]),
                    quality_score: (i % 100) / 100
                });
            }

            await engine.knex('resources').insert(rows);
        }
    }
    finally {
        await engine.destroy();
    }
}

function startServer(name: string, port: number, env: Env): Promise<Running> {

    const full: Env = { NODE_ENV: 'production', LOG_LEVEL: 'warn', ADMIN_TOKEN, SESSION_SECRET, ENABLE_CONSOLE: '0', AUTO_MIGRATE: '0', SEED_DEMO: '0', DB_POOL_MAX: '10', ...env };
    return startServe(name, 'hapi', port, [JSON.stringify(full)]);
}

async function hit(server: Running, path: (i: number) => string, connections: number, duration: number): Promise<{ rps: number; non200: number }> {

    let i = 0;
    const result = await autocannon({
        url: `http://127.0.0.1:${server.port}`,
        connections,
        duration,
        requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: path(i++) }) }]
    });
    const non200 = Object.entries(result.statusCodeStats ?? {}).filter(([code]) => code !== '200').reduce((sum, [, { count }]) => sum + (count ?? 0), 0);
    return { rps: result.requests.total / result.duration, non200: non200 + result.errors + result.timeouts };
}

export async function benchReplicaReads(options: ReplicaReadsOptions = {}): Promise<ReplicaReadsResult> {

    const resources = options.resources ?? 20_000;
    const rounds = options.rounds ?? 6;
    const duration = options.duration ?? 3;
    const connections = options.connections ?? 20;
    const firstPort = options.port ?? 3461;
    const log = options.log ?? ((line: string) => console.log(`[replica-reads ${new Date().toISOString().slice(11, 19)}] ${line}`));

    log(`node ${process.version}, ${Os.cpus().length} CPUs shared by both clusters, both servers and the load generator: figures are noisy`);
    const pair: ReplicaPair = await startReplicaPair();
    const servers: Running[] = [];
    try {
        await pair.primary.psql(`CREATE DATABASE ${DATABASE}`);
        log(`primary :${pair.primary.port}, streaming replica :${pair.replica.port}; loading ${resources} resources`);
        await loadLibrary(pair.primary.url(DATABASE), resources);
        await pair.primary.psql('VACUUM ANALYZE', DATABASE);
        await pair.caughtUp(120_000);

        servers.push(await startServer('replica in rotation', firstPort, { DATABASE_URL: pair.primary.url(DATABASE), DATABASE_REPLICA_URLS: pair.replica.url(DATABASE) }));
        servers.push(await startServer('primary only', firstPort + 1, { DATABASE_URL: pair.primary.url(DATABASE) }));

        const paths: Array<[string, (i: number) => string]> = [
            ['GET /search', (i) => `/search?q=${WORDS[i % WORDS.length]}&limit=10`],
            ['GET /resources', (i) => `/resources?limit=25&offset=${(i * 25) % 2000}`]
        ];
        let non200 = 0;
        const routes: ReplicaReadsRoute[] = [];
        for (const [name, path] of paths) {
            for (const server of servers) {
                await hit(server, path, connections, 2);   // warm-up
            }

            const rps = new Map<string, number[]>(servers.map((server) => [server.name, []]));
            const ratios: number[] = [];
            for (let round = 0; round < rounds; ++round) {
                const order = round % 2 ? [...servers].reverse() : servers;
                const measured = new Map<string, number>();
                for (const server of order) {
                    const run = await hit(server, path, connections, duration);
                    non200 += run.non200;
                    measured.set(server.name, run.rps);
                    rps.get(server.name)!.push(run.rps);
                }

                ratios.push(measured.get('replica in rotation')! / measured.get('primary only')!);
                log(`${name} round ${round + 1}/${rounds}: replica in rotation ${measured.get('replica in rotation')!.toFixed(0)} req/s, primary only ${measured.get('primary only')!.toFixed(0)} req/s, ratio ${ratios.at(-1)!.toFixed(2)}`);
            }

            routes.push({ path: name, replicaRps: median(rps.get('replica in rotation')!), primaryRps: median(rps.get('primary only')!), ratio: median(ratios) });
        }

        const report = await fetch(`http://127.0.0.1:${firstPort}/monitoring/database`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then((res) => res.json()) as { replicas?: Array<{ reads: number; state: string }> };
        const replicaReads = report.replicas?.[0]?.reads ?? 0;
        log(`the replica served ${replicaReads} reads (state ${report.replicas?.[0]?.state ?? 'unknown'}); responses other than 200: ${non200}`);
        for (const route of routes) {
            log(`${route.path.padEnd(15)} replica in rotation ${route.replicaRps.toFixed(0).padStart(6)} req/s  primary only ${route.primaryRps.toFixed(0).padStart(6)} req/s  ratio ${route.ratio.toFixed(2)} (target ≥ ${TARGET}) ${route.ratio >= TARGET ? 'met' : 'NOT met'}`);
        }

        return { routes, replicaReads, non200, target: TARGET };
    }
    finally {
        for (const server of servers) {
            await stopServe(server);
        }

        await pair.stop();
    }
}

if (require.main === module) {
    const { values } = parseArgs({
        options: {
            resources: { type: 'string', default: '20000' },
            rounds: { type: 'string', default: '6' },
            duration: { type: 'string', default: '3' },
            connections: { type: 'string', default: '20' },
            port: { type: 'string', default: '3461' }
        }
    });
    benchReplicaReads({
        resources: positiveInteger('resources', values.resources, 10_000_000),
        rounds: positiveInteger('rounds', values.rounds, 100),
        duration: positiveInteger('duration', values.duration, 3600),
        connections: positiveInteger('connections', values.connections, 1000),
        port: positiveInteger('port', values.port, 65_000)
    }).then((result) => {

        process.exit(result.replicaReads > 0 && result.non200 === 0 ? 0 : 1);
    }, (error: unknown) => {

        console.error(`bench:replica-reads failed: ${(error as Error)?.stack ?? error}`);
        process.exit(1);
    });
}
