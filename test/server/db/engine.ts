import Fs from 'node:fs';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { checkConnection, createDatabaseEngine, DatabaseUnreachableError, dialectFor } from '../../../server/db/engine';
import { prepareSessions } from '../../../server/db/sessions';
import { RetryExhaustedError, withRetry } from '../../../server/db/retry';
import type { DatabaseEngine } from '../../../server/db/types';
import { toBoom } from '../../../server/errors';
import { createTestDatabase, isPostgres, postgresOnly, removeSqliteFiles, sqliteOnly, tempSqlitePath, type TestDatabase } from '../../helpers/database';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

describe('db engine', () => {

    let database: TestDatabase;
    let engine: DatabaseEngine;

    before(async () => {

        database = await createTestDatabase();
        engine = createDatabaseEngine(database.url, { min: 0, max: 4 });
        await engine.knex.schema.dropTableIfExists('retry_probe');
        await engine.knex.schema.createTable('retry_probe', (table) => {

            table.integer('id').primary();
            table.integer('value').notNullable();
        });
        await engine.knex('retry_probe').insert([{ id: 1, value: 0 }, { id: 2, value: 0 }]);
    });

    after(async () => {

        await engine.knex.schema.dropTableIfExists('retry_probe');
        await engine.destroy();
        await database.cleanup();
    });

    it('postgres only: applies the session settings on every pooled connection, without startup options', postgresOnly, async () => {

        const defaults = createDatabaseEngine(database.url, { min: 0, max: 3 });
        expect((defaults.knex.client.config.connection as any).options).to.not.exist();
        try {
            await prepareSessions(defaults, {}, null);
            // Three transactions held open together, so three distinct pooled
            // connections must show the settings.
            let arrived = 0;
            let releaseAll!: () => void;
            const allOpen = new Promise<void>((resolve) => {

                releaseAll = resolve;
            });
            const results = await Promise.all([1, 2, 3].map(() => defaults.knex.transaction(async (trx) => {

                const read = async (name: string) => Object.values((await trx.raw(`SHOW ${name}`)).rows[0])[0];
                await trx.raw('SELECT 1');
                if (++arrived === 3) {
                    releaseAll();
                }

                await allOpen;
                return {
                    statement: await read('statement_timeout'),
                    zone: await read('TimeZone'),
                    isolation: await read('default_transaction_isolation'),
                    name: await read('application_name'),
                    pid: (await trx.raw('SELECT pg_backend_pid() AS pid')).rows[0].pid
                };
            })));

            expect(new Set(results.map((result) => result.pid)).size).to.equal(3);
            for (const result of results) {
                expect(result).to.include({ statement: '30s', zone: 'UTC', isolation: 'read committed', name: 'neo-alexandria' });
            }
        }
        finally {
            await defaults.destroy();
        }
    });

    it('postgres only: sizes the pool as 20 kept + 40 burst, recycled after an hour', postgresOnly, () => {

        const settings = dialectFor('postgres').poolSettings({});
        expect(settings).to.include({ min: 20, max: 60, recycleSeconds: 3600, statementTimeoutMs: 30_000 });
        const config = dialectFor('postgres').knexConfig('postgres://u@h/db', {}) as any;
        expect(config.connection.options).to.not.exist();
        expect(config.pool.maxConnectionLifetimeMillis).to.equal(3_600_000);
        expect(config.pool.min).to.equal(20);
        expect(config.pool.max).to.equal(60);
    });

    it('postgres only: cancels a statement that runs past the statement timeout (30 s by default)', { ...postgresOnly, timeout: 45_000 }, async () => {

        const defaults = createDatabaseEngine(database.url, { min: 0, max: 1 });
        try {
            await prepareSessions(defaults, {}, null);
            const started = Date.now();
            const error = await expect(defaults.knex.raw('SELECT pg_sleep(31)')).to.reject();
            expect((error as any).code).to.equal('57014');
            expect(Date.now() - started).to.be.between(29_000, 31_000);
            // The API answers such a cancellation with a 503, not a 500.
            expect(toBoom(error).output.statusCode).to.equal(503);
        }
        finally {
            await defaults.destroy();
        }
    });

    it('postgres only: replaces a pooled connection whose backend was terminated', postgresOnly, async () => {

        const single = createDatabaseEngine(database.url, { min: 0, max: 1, prePingIdleMs: 0 });
        try {
            const { rows: [{ pid }] } = await single.knex.raw('SELECT pg_backend_pid() AS pid');
            await engine.knex.raw('SELECT pg_terminate_backend(?)', [pid]);
            const { rows: [{ pid: next }] } = await single.knex.raw('SELECT pg_backend_pid() AS pid');
            expect(next).to.not.equal(pid);
        }
        finally {
            await single.destroy();
        }
    });

    it('postgres only: survives a terminated backend with the default pre-ping settings', postgresOnly, async () => {

        const defaults = createDatabaseEngine(database.url, { min: 0, max: 1 });
        try {
            const { rows: [{ pid }] } = await defaults.knex.raw('SELECT pg_backend_pid() AS pid');
            // The two-argument form returns once the backend has exited.
            expect((await engine.knex.raw('SELECT pg_terminate_backend(?, 5000) AS done', [pid])).rows[0].done).to.be.true();
            // A request arriving right after the kill: the pool must not hand out the dead connection.
            const { rows: [{ ok }] } = await defaults.knex.raw('SELECT 1 AS ok');
            expect(ok).to.equal(1);
        }
        finally {
            await defaults.destroy();
        }
    });

    it('postgres only: withRetry retries a real serialization failure and succeeds', postgresOnly, async () => {

        await engine.knex('retry_probe').update({ value: 0 });
        const attempts: number[] = [];
        let release!: () => void;
        const bothRead = new Promise<void>((resolve) => {

            release = resolve;
        });
        let reads = 0;

        // Two SERIALIZABLE transactions each read both rows and write one:
        // a write skew PostgreSQL must reject for one of them (40001).
        const transfer = (id: number) => withRetry(engine.dialect, (attempt) => engine.knex.transaction(async (trx) => {

            attempts.push(attempt);
            await trx.raw('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE');
            const rows = await trx('retry_probe').select('value');
            if (attempt === 1 && ++reads === 2) {
                release();
            }

            if (attempt === 1) {
                await bothRead;
            }

            const sum = rows.reduce((total: number, row: { value: number }) => total + row.value, 0);
            await trx('retry_probe').where({ id }).update({ value: sum + 1 });
        }), { baseDelayMs: 5 });

        await Promise.all([transfer(1), transfer(2)]);
        expect(attempts.filter((attempt) => attempt > 1).length).to.be.at.least(1);
        const values = (await engine.knex('retry_probe').orderBy('id')).map((row: { value: number }) => row.value);
        // Serial execution: one sets 1, the other sees it and sets 2.
        expect(values.sort()).to.equal([1, 2]);
    });

    it('postgres only: withRetry gives up after the bound with the last error', postgresOnly, async () => {

        let calls = 0;
        const error = await expect(withRetry(engine.dialect, async () => {

            ++calls;
            // A real serialization failure raised by the server on every attempt.
            await engine.knex.raw("DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = 'serialization_failure'; END $$");
        }, { attempts: 3, baseDelayMs: 1 })).to.reject(RetryExhaustedError);
        expect(calls).to.equal(3);
        expect(error.attempts).to.equal(3);
        expect((error.cause as any).code).to.equal('40001');
    });

    it('never retries other errors', async () => {

        let calls = 0;
        await expect(withRetry(engine.dialect, async () => {

            ++calls;
            await engine.knex.raw('SELECT * FROM no_such_table');
        })).to.reject();
        expect(calls).to.equal(1);
    });

    it('sqlite only: applies WAL, foreign keys, a 30 s busy timeout and a 64 MiB page cache', sqliteOnly, async () => {

        const pragma = async (name: string) => Object.values((await engine.knex.raw(`PRAGMA ${name}`))[0] as object)[0];
        expect(await pragma('journal_mode')).to.equal('wal');
        expect(await pragma('foreign_keys')).to.equal(1);
        expect(await pragma('busy_timeout')).to.equal(30_000);
        expect(await pragma('cache_size')).to.equal(-65536);
        expect(engine.pool).to.include({ min: 1, max: 1 });
    });

    it('sqlite only: withRetry retries SQLITE_BUSY from a second process-level writer', sqliteOnly, async () => {

        const filename = tempSqlitePath('busy');
        const holder = createDatabaseEngine(`sqlite:${filename}`);
        const writer = createDatabaseEngine(`sqlite:${filename}`, { sqliteBusyTimeoutMs: 0 });
        try {
            await holder.knex.schema.createTable('t', (table) => table.integer('v'));
            const locked = holder.knex.transaction(async (trx) => {

                await trx('t').insert({ v: 1 });
                await new Promise((resolve) => setTimeout(resolve, 150));
            });
            await new Promise((resolve) => setTimeout(resolve, 30));

            let attempts = 0;
            await withRetry(writer.dialect, () => {

                ++attempts;
                return writer.knex.transaction((trx) => trx('t').insert({ v: 2 }));
            }, { attempts: 20, baseDelayMs: 20, maxDelayMs: 40 });
            await locked;
            expect(attempts).to.be.above(1);
            expect(await writer.knex('t').count({ n: '*' })).to.equal([{ n: 2 }]);
        }
        finally {
            await writer.destroy();
            await holder.destroy();
            removeSqliteFiles(filename);
        }
    });

    it('says why it cannot connect, at once and without the password', async () => {

        const unreachable = createDatabaseEngine('postgres://admin:hunter2@127.0.0.1:1/library');
        try {
            const error = await expect(checkConnection(unreachable)).to.reject(DatabaseUnreachableError);
            expect(error.message).to.contain('ECONNREFUSED');
            expect(error.message).to.contain('postgres://admin:***@127.0.0.1:1/library');
            expect(error.message).to.not.contain('hunter2');
        }
        finally {
            await unreachable.destroy();
        }

        await checkConnection(engine);
    });

    it('postgres only: a direct engine carries its own settings at connect and knows it reached the server', postgresOnly, async () => {

        const direct = createDatabaseEngine(database.url, { min: 0, max: 1, statementTimeoutMs: 0, applicationName: 'neo-alexandria-direct' }, { kind: 'direct' });
        try {
            const { rows: [row] } = await direct.knex.raw(`SELECT current_setting('statement_timeout') AS timeout, current_setting('TimeZone') AS zone, current_setting('application_name') AS name`);
            expect(row).to.equal({ timeout: '0', zone: 'UTC', name: 'neo-alexandria-direct' });
            await checkConnection(direct);
        }
        finally {
            await direct.destroy();
        }
    });

    it('postgres only: warns at start when DB_POOL_MAX alone is more than the server allows', postgresOnly, async () => {

        const { rows: [{ allowed }] } = await engine.knex.raw(`SELECT current_setting('max_connections')::int AS allowed`);
        const oversized = createDatabaseEngine(database.url, { min: 0, max: allowed + 1 });
        const fitting = createDatabaseEngine(database.url, { min: 0, max: 5 });
        try {
            const report = await prepareSessions(oversized, {}, null);
            expect(report.warnings.join('\n')).to.contain(`DB_POOL_MAX is ${allowed + 1}, but the server allows only`);
            expect(report.warnings.join('\n')).to.contain(`max_connections = ${allowed}`);
            // Behind a pooler the server never sees this pool: no warning.
            expect((await prepareSessions(oversized, {}, fitting)).warnings).to.equal([]);
            expect((await prepareSessions(fitting, {}, null)).warnings).to.equal([]);
            // Straight to the server: the hot lookup may be a named statement.
            expect(fitting.namedStatements).to.be.true();
            expect(oversized.namedStatements).to.be.false();
        }
        finally {
            await oversized.destroy();
            await fitting.destroy();
        }
    });

    it('reports a size and a version for its database', async () => {

        expect(await engine.dialect.databaseSize(engine.knex)).to.be.above(0);
        expect(await engine.dialect.serverVersion(engine.knex)).to.match(isPostgres ? /^PostgreSQL 1\d/ : /^SQLite 3\./);
    });

    it('creates the directory of a new SQLite file and redacts nothing it does not need to', async () => {

        const filename = `${tempSqlitePath('dir')}.d/nested/library.db`;
        const fresh = createDatabaseEngine(`sqlite:${filename}`);
        try {
            await fresh.knex.raw('SELECT 1');
            expect(Fs.existsSync(filename)).to.be.true();
            expect(fresh.target).to.equal(`sqlite:${filename}`);
        }
        finally {
            await fresh.destroy();
            Fs.rmSync(filename.replace(/\/nested\/library\.db$/, ''), { recursive: true, force: true });
        }

        const pg = createDatabaseEngine('postgres://admin:s3cret@127.0.0.1:1/db');
        expect(pg.target).to.equal('postgres://admin:***@127.0.0.1:1/db');
        await pg.destroy();
    });
});
