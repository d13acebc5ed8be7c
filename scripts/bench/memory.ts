// Bounded work per request: 20 concurrent clients each fetch 3 of the largest
// pages the API allows (100 resources filled to every limit, 20 with their
// embeddings, the same through /search) from a library of such resources,
// while /health is probed. Prints the server's peak RSS and the /health p99
// on each dialect, against the targets (≤ 512 MB, ≤ 1 s); exits 1 when one
// is missed.
//
//   npm run bench:memory [-- --clients 20 --requests 3 --rows 300 --dialects sqlite,postgres
//                           --pg-url postgres://postgres@127.0.0.1:5432/na_memory_bench --port 3461]

import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Knex from 'knex';

import type { Env } from '../../server/config';
import { createDatabaseEngine } from '../../server/db/engine';
import { migrationConfig } from '../../server/db/migrations';
import { forDialect, isDatabaseType, redactUrl, type DatabaseType } from '../../server/db/url';
import { FIELD_LIMITS, MAX_LIMIT_WITH_EMBEDDINGS, RECORD_TEXT_BYTES, recordTextBytes } from '../../server/input';
import { bindModels } from '../../server/models';
import { positiveInteger } from './options';

const { values: args } = parseArgs({
    options: {
        clients: { type: 'string', default: '20' },
        requests: { type: 'string', default: '3' },
        rows: { type: 'string', default: '300' },
        dialects: { type: 'string', default: 'sqlite,postgres' },
        'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/na_memory_bench' },
        port: { type: 'string', default: '3461' }
    }
});

const CLIENTS = positiveInteger('clients', args.clients, 1000);
const REQUESTS = positiveInteger('requests', args.requests, 1000);
const ROWS = positiveInteger('rows', args.rows, 100_000);
const PORT = positiveInteger('port', args.port, 65_000);
const PG_URL = args['pg-url']!;
const DIALECTS: DatabaseType[] = args.dialects!.split(',').map((dialect) => {

    if (!isDatabaseType(dialect)) {
        console.error(`--dialects takes sqlite and/or postgres (got ${JSON.stringify(dialect)})`);
        process.exit(2);
    }

    return dialect;
});

const TARGET_RSS_MB = 512;
const TARGET_HEALTH_P99_MS = 1000;
const SERVE = Path.join(__dirname, 'serve.ts');
const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** A resource with every field at its limit: three-byte characters, full embeddings. */
export function worstResource(i: number): Record<string, unknown> {

    const wide = (length: number) => '語'.repeat(length);
    const record: Record<string, unknown> = {
        id: randomUUID(),
        title: `Ledger ${i} ${wide(300)}`,
        creator: wide(100),
        publisher: wide(100),
        subject: Array.from({ length: 20 }, (_, n) => `ledger subject ${n} ${wide(20)}`),
        relation: Array.from({ length: FIELD_LIMITS.relations }, (_, n) => `https://example.org/related/${i}/${n}`),
        quality_score: (i % 100) / 100,
        embedding: Array.from({ length: FIELD_LIMITS.embedding }, (_, n) => -Math.sin(i * 7919 + n) / 3),
        sparse_embedding: Object.fromEntries(Array.from({ length: FIELD_LIMITS.sparseEmbedding }, (_, n) => [`${n}-${'k'.repeat(FIELD_LIMITS.sparseKey - 8)}`, Math.cos(n) / 7]))
    };
    // The description takes what the record's text budget leaves.
    const left = RECORD_TEXT_BYTES - recordTextBytes({ ...record, description: 'ledger ' }) - 64;
    record.description = `ledger ${wide(Math.min(FIELD_LIMITS.description - 10, Math.floor(left / 3)))}`;
    return record;
}

export async function prepare(url: string): Promise<void> {

    const engine = createDatabaseEngine(url, { min: 0, max: 1 });
    try {
        await engine.knex.migrate.latest(migrationConfig);
        const { Resource } = bindModels(engine.knex);
        for (let start = 0; start < ROWS; start += 50) {
            await engine.knex.transaction(async (trx) => {

                for (let i = start; i < Math.min(ROWS, start + 50); ++i) {
                    await Resource.query(trx).insert(worstResource(i) as any);
                }
            });
        }
    }
    finally {
        await engine.destroy();
    }
}

async function onMaintenanceDatabase(url: string, statement: (name: string) => string): Promise<void> {

    const parsed = new URL(url);
    const name = decodeURIComponent(parsed.pathname.slice(1));
    parsed.pathname = '/postgres';
    const admin = Knex({ client: 'pg', connection: parsed.toString(), pool: { min: 0, max: 1 } });
    try {
        await admin.raw(statement(name).replace('??', `"${name.replace(/"/g, '""')}"`));
    }
    finally {
        await admin.destroy();
    }
}

function startServer(env: Env): Promise<ChildProcess> {

    const full: Env = { NODE_ENV: 'production', LOG_LEVEL: 'warn', ADMIN_TOKEN: 'bench-admin-token-0123456789', SESSION_SECRET: 'bench-session-secret-not-a-secret-0123456789', ENABLE_CONSOLE: '0', ...env };
    const child = spawn(process.execPath, ['--import', 'tsx', SERVE, 'hapi', String(PORT), JSON.stringify(full)], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new Promise((resolve, reject) => {

        let output = '';
        const timer = setTimeout(() => reject(new Error('the server did not start within 60 s')), 60_000);
        child.stdout!.on('data', (chunk) => {

            output += String(chunk);
            if (output.includes(`ready ${PORT}`)) {
                clearTimeout(timer);
                resolve(child);
            }
        });
        child.once('exit', (code) => {

            clearTimeout(timer);
            reject(new Error(`the server exited with code ${code}`));
        });
    });
}

function rssMb(pid: number): number {

    const status = Fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

const percentile = (values: number[], p: number) => {

    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
};

/** The largest pages a client can ask for. */
const PAGES = [
    '/resources?limit=100',
    `/resources?limit=${MAX_LIMIT_WITH_EMBEDDINGS}&include=embedding,sparse_embedding`,
    '/search?q=ledger&limit=100',
    `/search?q=ledger&limit=${MAX_LIMIT_WITH_EMBEDDINGS}&include=embedding,sparse_embedding`
];

interface Result {
    dialect: string;
    baselineMb: number;
    peakMb: number;
    healthP50: number;
    healthP99: number;
    healthMax: number;
    largestPageBytes: number;
    statuses: Record<string, number>;
    seconds: number;
}

async function measure(dialect: string, url: string): Promise<Result> {

    const server = await startServer({ DATABASE_URL: url });
    const base = `http://127.0.0.1:${PORT}`;
    try {
        // Warm up: every page once, so the baseline holds the code paths and caches.
        for (const page of PAGES) {
            await (await fetch(base + page)).arrayBuffer();
        }

        const baselineMb = rssMb(server.pid!);
        let peakMb = baselineMb;
        const sampler = setInterval(() => {

            peakMb = Math.max(peakMb, rssMb(server.pid!));
        }, 10);

        let loading = true;
        const health: number[] = [];
        const probe = (async () => {

            while (loading) {
                const started = performance.now();
                await (await fetch(`${base}/health`)).arrayBuffer();
                health.push(performance.now() - started);
                await new Promise((resolve) => setTimeout(resolve, 20));
            }
        })();

        const statuses: Record<string, number> = {};
        let largestPageBytes = 0;
        const started = performance.now();
        await Promise.all(Array.from({ length: CLIENTS }, async (_, client) => {

            for (let n = 0; n < REQUESTS; ++n) {
                const res = await fetch(base + PAGES[(client + n) % PAGES.length]!);
                const body = await res.arrayBuffer();
                statuses[res.status] = (statuses[res.status] ?? 0) + 1;
                largestPageBytes = Math.max(largestPageBytes, body.byteLength);
            }
        }));
        const seconds = (performance.now() - started) / 1000;
        loading = false;
        await probe;
        clearInterval(sampler);
        peakMb = Math.max(peakMb, rssMb(server.pid!));

        return {
            dialect, baselineMb, peakMb, statuses, largestPageBytes, seconds,
            healthP50: percentile(health, 0.5), healthP99: percentile(health, 0.99), healthMax: Math.max(...health)
        };
    }
    finally {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGTERM');
        await exited;
    }
}

/** Loads the library into a scratch SQLite file, measures, and removes the file. */
async function benchSqlite(): Promise<Result> {

    const file = Path.join(Os.tmpdir(), `na-memory-bench-${process.pid}.db`);
    try {
        log('sqlite: loading the library');
        await prepare(`sqlite:${file}`);
        return await measure('sqlite', `sqlite:${file}`);
    }
    finally {
        for (const suffix of ['', '-wal', '-shm']) {
            Fs.rmSync(`${file}${suffix}`, { force: true });
        }
    }
}

/** Loads the library into a fresh PostgreSQL database, measures, and drops it. */
async function benchPostgres(): Promise<Result> {

    log(`postgres: loading the library into ${redactUrl(PG_URL)}`);
    await onMaintenanceDatabase(PG_URL, () => 'DROP DATABASE IF EXISTS ?? WITH (FORCE)');
    await onMaintenanceDatabase(PG_URL, () => 'CREATE DATABASE ??');
    try {
        await prepare(PG_URL);
        return await measure('postgres', PG_URL);
    }
    finally {
        await onMaintenanceDatabase(PG_URL, () => 'DROP DATABASE IF EXISTS ?? WITH (FORCE)');
    }
}

async function main(): Promise<void> {

    log(`${CLIENTS} clients × ${REQUESTS} requests of the largest pages; ${ROWS} resources at every limit; ${Os.cpus().length} CPUs`);
    const results: Result[] = [];
    for (const dialect of DIALECTS) {
        results.push(await forDialect(dialect, { sqlite: benchSqlite, postgres: benchPostgres })());
    }

    let ok = true;
    console.log('');
    console.log('dialect    RSS before  peak RSS   /health p50   p99      max      largest page  load time  statuses');
    for (const result of results) {
        const pass = result.peakMb <= TARGET_RSS_MB && result.healthP99 <= TARGET_HEALTH_P99_MS && Object.keys(result.statuses).every((code) => code === '200');
        ok &&= pass;
        console.log([
            result.dialect.padEnd(10),
            `${result.baselineMb.toFixed(0)} MB`.padStart(10),
            `${result.peakMb.toFixed(0)} MB`.padStart(9),
            `${result.healthP50.toFixed(0)} ms`.padStart(12),
            `${result.healthP99.toFixed(0)} ms`.padStart(8),
            `${result.healthMax.toFixed(0)} ms`.padStart(8),
            `${(result.largestPageBytes / 1024 / 1024).toFixed(2)} MB`.padStart(13),
            `${result.seconds.toFixed(1)} s`.padStart(10),
            ` ${JSON.stringify(result.statuses)}`,
            pass ? '  ok' : '  MISSED'
        ].join(' '));
    }

    console.log(`targets: peak RSS ≤ ${TARGET_RSS_MB} MB, /health p99 ≤ ${TARGET_HEALTH_P99_MS} ms, every page 200`);
    process.exit(ok ? 0 : 1);
}

if (require.main === module) {
    main().catch((error) => {

        console.error(error);
        process.exit(1);
    });
}
