import Fs from 'node:fs';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import Knex from 'knex';

import { formatBytes } from '../../../server/console/format';
import { isPostgres, postgresOnly, sqliteOnly } from '../../helpers/database';
import { eventually, holdConnections, release, sleep } from '../../helpers/monitoring';
import { adminHeaders, createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

describe('monitoring: GET /monitoring/database', () => {

    let t: TestServer;

    const report = async (): Promise<Record<string, any>> => {

        const res = await t.server.inject({ url: '/monitoring/database?fresh=true', headers: adminHeaders });
        expect(res.statusCode, res.payload).to.equal(200);
        expect(res.headers['cache-control']).to.equal('no-store');
        return res.result as Record<string, any>;
    };

    before(async () => {

        t = await createTestServer({ DB_POOL_MIN: '2', DB_POOL_MAX: '6', DB_ACQUIRE_TIMEOUT_MS: '3000' });
    });

    after(async () => {

        await t.stop();
    });

    it('serves the database figures of the last sample with their age, and reads them anew when asked', async () => {

        const first = await report();
        expect(first.stats_age_s).to.equal(0);
        await sleep(300);
        const served = (await t.server.inject({ url: '/monitoring/database', headers: adminHeaders })).result as Record<string, any>;
        // The same sample, older; the pool figures are of this moment.
        expect(served.sampled_at).to.equal(first.sampled_at);
        expect(served.stats_age_s as number).to.be.at.least(0.2);
        expect(served.pool.max).to.equal(first.pool.max);
        const again = await report();
        expect(again.stats_age_s).to.equal(0);
        expect(again.sampled_at > first.sampled_at).to.be.true();
        expect((await t.server.inject({ url: '/monitoring/database?fresh=maybe', headers: adminHeaders })).statusCode).to.equal(400);
    });

    it('needs the admin token', async () => {

        const res = await t.server.inject('/monitoring/database');
        expect(res.statusCode).to.equal(401);
    });

    it('reports the dialect, version, redacted target and the pool of a known state', async () => {

        const { knex, db } = t.server;
        const version = await db.dialect.serverVersion(knex);
        const held = isPostgres ? 4 : 1;
        const trxs = await holdConnections(knex, held);
        try {
            const body = await report();
            expect(body.database_type).to.equal(t.database.type);
            expect(body.version).to.equal(version);
            expect(body.target).to.equal(db.target);
            expect(new Date(body.sampled_at).getTime()).to.be.about(Date.now(), 5000);

            const pool = body.pool;
            expect(pool.min).to.equal(isPostgres ? 2 : 1);
            expect(pool.max).to.equal(isPostgres ? 6 : 1);
            expect(pool.in_use).to.equal(held);
            expect(pool.waiting).to.equal(0);
            expect(pool.open).to.equal(pool.in_use + pool.free);
            expect(pool.pending_creates).to.equal(0);
            expect(pool.overflow_in_use).to.equal(isPostgres ? 2 : 0);
            expect(pool.overflow_open).to.equal(Math.max(0, pool.open - pool.min));
            expect(pool.utilization_percent).to.equal(isPostgres ? 66.7 : 100);
            expect(pool.acquire_timeout_ms).to.equal(3000);
            expect(pool.recycle_s).to.equal(isPostgres ? 3600 : null);
            expect(pool.acquire.window_s).to.equal(60);
            expect(pool.acquire.samples as number).to.be.at.least(held);
            expect(pool.acquire.p50_ms as number).to.be.a.number().and.to.be.at.least(0);
            expect(pool.acquire.p95_ms as number).to.be.at.least(pool.acquire.p50_ms);
            expect(pool.acquire.max_ms as number).to.be.at.least(pool.acquire.p95_ms);
            expect(pool.acquire_timeouts).to.equal(0);
            expect(pool.create_failures).to.equal(0);
            expect(pool.destroyed).to.equal({ dead: 0, recycled: 0, idle: 0 });
            expect(body.stats_error).to.not.exist();
        }
        finally {
            await release(trxs);
        }

        const after = await report();
        expect(after.pool.in_use).to.equal(0);
        expect(after.pool.free).to.equal(after.pool.open);
        expect(after.pool.utilization_percent).to.equal(0);
    });

    it('counts requests waiting for a connection while the pool is full', async () => {

        const { knex } = t.server;
        const trxs = await holdConnections(knex, isPostgres ? 6 : 1);
        const [id] = ['00000000-0000-4000-8000-000000000001'];
        const waiting = [t.server.inject(`/resources/${id}`), t.server.inject(`/resources/${id}`)];
        try {
            await eventually(() => ((knex.client.pool as any).numPendingAcquires() === 2 ? true : undefined), 2000, 'two waiting acquires');
            const body = await report();
            expect(body.pool.waiting).to.equal(2);
            expect(body.pool.in_use).to.equal(body.pool.max);
            expect(body.pool.utilization_percent).to.equal(100);
        }
        finally {
            await release(trxs);
        }

        for (const res of await Promise.all(waiting)) {
            expect(res.statusCode).to.equal(404);
        }
    });

    it('sqlite only: reports file, WAL and page figures that match the file itself', sqliteOnly, async () => {

        const { knex } = t.server;
        // Leave free pages behind: a filled table, dropped.
        await knex.schema.createTable('monitoring_scratch', (table) => table.text('v'));
        await knex('monitoring_scratch').insert(Array.from({ length: 200 }, (_, i) => ({ v: `row ${i} `.repeat(40) })));
        await knex.schema.dropTable('monitoring_scratch');

        const filename = (knex.client.config.connection as { filename: string }).filename;
        const [expected] = await knex.raw('SELECT page_size, page_count, freelist_count FROM pragma_page_size(), pragma_page_count(), pragma_freelist_count()');
        const body = await report();
        const lite = body.sqlite;
        expect(body.postgres).to.not.exist();
        expect(lite.file).to.equal(filename);
        const sizeOf = (path: string) => (Fs.existsSync(path) ? Fs.statSync(path).size : 0);
        expect(lite.file_size_bytes).to.equal(Fs.statSync(filename).size);
        expect(lite.wal_size_bytes).to.equal(sizeOf(`${filename}-wal`));
        expect(lite.shm_size_bytes).to.equal(sizeOf(`${filename}-shm`));
        expect(lite.wal_size_bytes as number).to.be.above(0);
        expect(lite.size_bytes).to.equal(lite.file_size_bytes + lite.wal_size_bytes + lite.shm_size_bytes);
        expect(lite.page_size).to.equal(expected.page_size);
        expect(lite.page_count).to.equal(expected.page_count);
        expect(lite.freelist_count).to.equal(expected.freelist_count);
        expect(lite.freelist_count as number).to.be.above(0);
        expect(lite.journal_mode).to.equal('wal');
        expect(lite.busy_errors).to.equal(0);
        expect(lite.locked_errors).to.equal(0);
    });

    it('shows the whole database size on the console, /metrics and /monitoring/database (SQLite: file + WAL + shared memory)', async () => {

        // A 1.2 MB library, written just now: on SQLite it sits in the WAL
        // until a checkpoint, so the file alone would read a few KiB.
        const description = 'x'.repeat(4000);
        await t.server.knex.batchInsert('resources', Array.from({ length: 300 }, (_, i) => ({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, title: `Size ${i}`, description })), 50);

        const lite = (await report()).sqlite;
        const metrics = (await t.server.inject({ url: '/metrics', headers: adminHeaders })).payload;
        const overview = (await t.server.inject({ url: '/ops/overview', headers: adminHeaders })).result as Record<string, any>;
        const panel = (await t.server.inject({ url: '/console/panels/overview', headers: adminHeaders })).payload;

        let expected: number;
        if (isPostgres) {
            const { rows } = await t.server.knex.raw('SELECT pg_database_size(current_database()) AS size');
            expected = Number(rows[0].size);
        }
        else {
            const filename = (t.server.knex.client.config.connection as { filename: string }).filename;
            const sizeOf = (path: string) => (Fs.existsSync(path) ? Fs.statSync(path).size : 0);
            expected = sizeOf(filename) + sizeOf(`${filename}-wal`) + sizeOf(`${filename}-shm`);
            expect(sizeOf(`${filename}-wal`)).to.be.above(0);
            expect(lite.size_bytes).to.equal(expected);
        }

        expect(expected).to.be.above(1_200_000);
        expect(overview.database_size_bytes).to.equal(expected);
        expect(metrics).to.match(new RegExp(`^na_db_size_bytes ${expected}$`, 'm'));
        expect(panel).to.contain(`<dt>Database size</dt><dd>${formatBytes(expected)}</dd>`);
        await t.server.knex('resources').whereLike('title', 'Size %').delete();
    });

    it('sqlite only: counts busy errors when another process holds the write lock', sqliteOnly, async () => {

        const busy = await createTestServer({ SQLITE_BUSY_TIMEOUT_MS: '50' });
        const filename = (busy.server.knex.client.config.connection as { filename: string }).filename;
        const other = Knex({ client: 'sqlite3', connection: { filename }, useNullAsDefault: true, pool: { min: 1, max: 1 } });
        try {
            await other.raw('BEGIN IMMEDIATE');
            const res = await busy.server.inject({ method: 'POST', url: '/resources', payload: { title: 'Blocked' } });
            expect(res.statusCode).to.equal(503);
            expect(res.headers['retry-after']).to.exist();
            await other.raw('ROLLBACK');

            const body = (await busy.server.inject({ url: '/monitoring/database?fresh=true', headers: adminHeaders })).result as Record<string, any>;
            expect(body.sqlite.busy_errors).to.equal(1);
            expect(body.sqlite.locked_errors).to.equal(0);
        }
        finally {
            await other.destroy();
            await busy.stop();
        }
    });

    it('postgres only: reports cache hit ratio, counters, connections by state and size that match the statistics views', postgresOnly, async () => {

        const { knex } = t.server;
        const held = await holdConnections(knex, 3);
        try {
            const { rows: [expected] } = await held[0]!.raw(`
                SELECT blks_hit::float8 / nullif(blks_hit + blks_read, 0) AS ratio, deadlocks, temp_files, temp_bytes,
                       xact_commit + xact_rollback AS transactions, pg_database_size(current_database()) AS size
                  FROM pg_stat_database WHERE datname = current_database()`);
            const body = await report();
            const pg = body.postgres;
            expect(body.sqlite).to.not.exist();
            expect(pg.cache_hit_ratio as number).to.be.about(expected.ratio, 0.01);
            expect(pg.deadlocks).to.equal(expected.deadlocks);
            expect(pg.temp_files).to.equal(expected.temp_files);
            expect(pg.temp_bytes).to.equal(expected.temp_bytes);
            expect(pg.transactions_total as number).to.be.at.least(expected.transactions);
            expect(pg.size_bytes as number).to.be.about(expected.size, 256 * 1024);
            expect(pg.connections_by_state['idle in transaction']).to.equal(3);
            expect(pg.connections_by_state.active).to.not.exist();
            expect(pg.longest_query_s).to.be.null();
        }
        finally {
            await release(held);
        }
    });

    it('postgres only: reports the age of the longest running query', postgresOnly, async () => {

        const [trx] = await holdConnections(t.server.knex, 1);
        // A knex query starts when something awaits it.
        const sleeping = trx!.raw('SELECT pg_sleep(1.6)').then(() => null);
        try {
            await sleep(1100);
            const pg = (await report()).postgres;
            expect(pg.longest_query_s as number).to.be.within(1.0, 1.6);
            expect(pg.connections_by_state.active).to.equal(1);
        }
        finally {
            await sleeping;
            await release([trx!]);
        }
    });

    it('postgres only: computes transactions per second between two samples', postgresOnly, async () => {

        const first = (await report()).postgres;
        const worker = Knex({ client: 'pg', connection: (t.server.knex.client.config.connection as { connectionString: string }).connectionString, pool: { min: 1, max: 1 } });
        try {
            for (let i = 0; i < 40; ++i) {
                await worker.transaction((trx) => trx.raw('SELECT 1'));
            }

            // Backends publish their counters lazily; ask for it now.
            await worker.raw('SELECT pg_stat_force_next_flush()');
            await worker.raw('SELECT 1');
        }
        finally {
            await worker.destroy();
        }

        await sleep(1000);
        const second = (await report()).postgres;
        expect(first.transactions_per_second === null || typeof first.transactions_per_second === 'number').to.be.true();
        expect(second.tps_window_s as number).to.be.at.least(1);
        const counted = second.transactions_total - first.transactions_total;
        expect(counted as number).to.be.within(40, 70);
        expect(second.transactions_per_second as number).to.be.about(counted / second.tps_window_s, 1);
    });

    it('postgres only: counts deadlocks and temporary files as they happen', postgresOnly, async () => {

        const before = (await report()).postgres;
        const { knex } = t.server;
        await knex.schema.createTable('monitoring_locks', (table) => {

            table.integer('id').primary();
        });

        try {
            await knex('monitoring_locks').insert([{ id: 1 }, { id: 2 }]);
            const [a, b] = await holdConnections(knex, 2);
            await a!.raw('UPDATE monitoring_locks SET id = id WHERE id = 1');
            await b!.raw('UPDATE monitoring_locks SET id = id WHERE id = 2');
            const outcomes = await Promise.allSettled([
                a!.raw('UPDATE monitoring_locks SET id = id WHERE id = 2'),
                b!.raw('UPDATE monitoring_locks SET id = id WHERE id = 1')
            ]);
            expect(outcomes.filter((outcome) => outcome.status === 'rejected')).to.have.length(1);
            await release([a!, b!]);

            // A sort larger than work_mem spills to a temporary file.
            await knex.transaction(async (trx) => {

                await trx.raw("SET LOCAL work_mem = '64kB'");
                await trx.raw('SELECT g FROM generate_series(1, 100000) g ORDER BY g DESC');
            });

            await knex.raw('SELECT pg_stat_force_next_flush()');
            await knex.raw('SELECT 1');
        }
        finally {
            await knex.schema.dropTableIfExists('monitoring_locks');
        }

        const after = await eventually(async () => {

            const pg = (await report()).postgres;
            return pg.deadlocks > before.deadlocks && pg.temp_files > before.temp_files ? pg : undefined;
        }, 12_000, 'deadlock and temp file statistics');
        expect(after.deadlocks).to.equal(before.deadlocks + 1);
        expect(after.temp_files as number).to.be.at.least(before.temp_files + 1);
        expect(after.temp_bytes as number).to.be.above(before.temp_bytes);
    });
});

describe('monitoring: connections the pool destroys', () => {

    it('postgres only: counts connections recycled after their lifetime, reaped when idle and caught dead by the pre-ping', postgresOnly, async () => {

        const t = await createTestServer({ DB_POOL_MIN: '0', DB_POOL_MAX: '1', DB_POOL_RECYCLE_S: '1', DB_PREPING_IDLE_MS: '0', DB_POOL_IDLE_TIMEOUT_MS: '100000' });
        const destroyed = async () => ((await t.server.inject({ url: '/monitoring/database', headers: adminHeaders })).result as any).pool.destroyed;
        try {
            const { knex } = t.server;
            // Lifetime: 1 s plus up to 100 ms jitter.
            await knex.raw('SELECT 1');
            await sleep(1300);
            await knex.raw('SELECT 1');
            expect(await destroyed()).to.equal({ dead: 0, recycled: 1, idle: 0 });

            // Terminated by the server: the next acquire's ping finds it dead.
            const { rows: [{ pid }] } = await knex.raw('SELECT pg_backend_pid() AS pid');
            const admin = Knex({ client: 'pg', connection: (knex.client.config.connection as { connectionString: string }).connectionString, pool: { min: 0, max: 1 } });
            try {
                await admin.raw('SELECT pg_terminate_backend(?)', [pid]);
            }
            finally {
                await admin.destroy();
            }

            await sleep(100);
            const { rows: [{ pid: next }] } = await knex.raw('SELECT pg_backend_pid() AS pid');
            expect(next).to.not.equal(pid);
            expect(await destroyed()).to.equal({ dead: 1, recycled: 1, idle: 0 });
        }
        finally {
            await t.stop();
        }
    });

    it('postgres only: counts idle connections the pool closes', postgresOnly, async () => {

        const t = await createTestServer({ DB_POOL_MIN: '0', DB_POOL_MAX: '2', DB_POOL_IDLE_TIMEOUT_MS: '100' });
        try {
            await t.server.knex.raw('SELECT 1');
            const pool = await eventually(async () => {

                const body = (await t.server.inject({ url: '/monitoring/database', headers: adminHeaders })).result as any;
                return body.pool.destroyed.idle >= 1 ? body.pool : undefined;
            }, 4000, 'the idle connection to be reaped');
            expect(pool.destroyed).to.equal({ dead: 0, recycled: 0, idle: 1 });
            expect(pool.open).to.equal(0);
        }
        finally {
            await t.stop();
        }
    });
});
