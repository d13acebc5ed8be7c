import { spawn } from 'node:child_process';
import Path from 'node:path';

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { migrateData } from '../../../plugins/migrator/migrator';
import type { ProgressEvent } from '../../../plugins/migrator/types';
import { MAINTENANCE_CACHE_MS, readMaintenance } from '../../../server/maintenance';
import { createServer } from '../../../server/index';
import { needsPostgres } from '../../helpers/requirements';
import { adminHeaders, createTestServer, type TestServer } from '../../helpers/server';
import { loginSession } from '../console/helpers';
import { insertAwkwardLibrary, migrated, scratchPostgres, scratchSqlite, withEngine, type ScratchSqlite } from '../migrator/fixtures';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const ROOT = Path.resolve(__dirname, '..', '..', '..');

describe('maintenance mode', () => {

    let t: TestServer;

    before({ timeout: 60_000 }, async () => {

        t = await createTestServer();
    });

    after({ timeout: 60_000 }, async () => {

        await t.stop();
    });

    const inject = (method: string, url: string, payload?: object, headers: Record<string, string> = adminHeaders) => t.server.inject({ method, url, payload, headers });

    it('is switched by admins only, and a console session needs its CSRF token', async () => {

        expect((await inject('POST', '/ops/maintenance', { enabled: true }, {})).statusCode).to.equal(401);
        expect((await inject('GET', '/ops/maintenance', undefined, {})).statusCode).to.equal(401);
        expect((await inject('POST', '/ops/maintenance', { enabled: 'yes' })).statusCode).to.equal(400);

        const login = await loginSession(t.server);
        const forged = await inject('POST', '/ops/maintenance', { enabled: true }, { cookie: login.cookie });
        expect(forged.statusCode).to.equal(403);
        const console = await inject('POST', '/ops/maintenance', { enabled: false }, { cookie: login.cookie, 'x-csrf-token': login.crumb });
        expect(console.statusCode, console.payload).to.equal(200);
        expect(console.result).to.include({ enabled: false, changedBy: 'admin (session)' });
    });

    it('refuses writes with 503 and Retry-After while on, keeps reads working, and lets writes through again when off', async () => {

        const created = await inject('POST', '/resources', { title: 'Before maintenance' });
        expect(created.statusCode).to.equal(201);
        const id = (created.result as { id: string }).id;

        const on = await inject('POST', '/ops/maintenance', { enabled: true, message: 'Moving to PostgreSQL until 14:00 UTC', retryAfterSeconds: 120 });
        expect(on.statusCode).to.equal(200);
        expect(on.result).to.include({ enabled: true, message: 'Moving to PostgreSQL until 14:00 UTC', retryAfterSeconds: 120 });

        for (const [method, url, payload] of [['POST', '/resources', { title: 'During' }], ['PATCH', `/resources/${id}`, { title: 'Changed' }], ['DELETE', `/resources/${id}`, undefined]] as const) {
            const res = await inject(method, url, payload);
            expect(res.statusCode, `${method} ${url}`).to.equal(503);
            expect(res.headers['retry-after']).to.equal('120');
            expect((res.result as { message: string }).message).to.equal('Moving to PostgreSQL until 14:00 UTC');
        }

        expect((await inject('GET', `/resources/${id}`)).statusCode).to.equal(200);
        expect((await inject('GET', '/resources')).statusCode).to.equal(200);
        expect((await inject('GET', '/ops/maintenance')).result).to.include({ enabled: true });

        expect((await inject('POST', '/ops/maintenance', { enabled: false })).statusCode).to.equal(200);
        expect((await inject('PATCH', `/resources/${id}`, { title: 'After maintenance' })).statusCode).to.equal(200);
    });

    it('is one switch for every instance on the database, seen within a second', { timeout: 30_000 }, async () => {

        const other = await createServer(t.config);
        await other.initialize();
        try {
            // The other instance has read the switch (off) and caches it.
            expect((await other.inject({ method: 'POST', url: '/resources', payload: { title: 'Other instance' } })).statusCode).to.equal(201);
            expect((await inject('POST', '/ops/maintenance', { enabled: true })).statusCode).to.equal(200);
            await new Promise((resolve) => setTimeout(resolve, MAINTENANCE_CACHE_MS + 50));
            const refused = await other.inject({ method: 'POST', url: '/resources', payload: { title: 'Other instance again' } });
            expect(refused.statusCode).to.equal(503);
            expect(refused.headers['retry-after']).to.equal('300');
        }
        finally {
            await inject('POST', '/ops/maintenance', { enabled: false });
            await other.stop();
        }
    });

    // Runs move data to and from PostgreSQL: they need a server beside SQLite.
    describe('during a data migration', needsPostgres(), () => {

        const cleanup: Array<() => Promise<void>> = [];
        let source: ScratchSqlite;

        before({ timeout: 120_000 }, async () => {

            source = await migrated(scratchSqlite('maintenance'));
            cleanup.push(source.drop);
            await withEngine(source.url, (engine) => insertAwkwardLibrary(engine.knex, 12));
        });

        after({ timeout: 120_000 }, async () => {

            for (const drop of cleanup.reverse()) {
                await drop();
            }
        });

        const pg = async (label: string, schema = true) => {

            const database = await scratchPostgres(label);
            cleanup.push(database.drop);
            return schema ? await migrated(database) : database;
        };

        const sqlite = async (label: string) => {

            const database = await migrated(scratchSqlite(label));
            cleanup.push(database.drop);
            return database;
        };

        const switchOf = (url: string) => withEngine(url, (engine) => readMaintenance(engine.knex));

        let written = 0;
        /** Writes a user into `url` at the first batch of the copy, as a live server would. */
        const writeDuringCopy = (url: string) => {

            const n = String(++written).padStart(2, '0');

            let writing: Promise<unknown> | null = null;
            return {
                onProgress: (event: ProgressEvent) => {

                    if (event.type === 'batch' && !writing) {
                        writing = withEngine(url, (engine) => engine.knex('users').insert({ id: `abababab-0000-4000-8000-0000000000${n}`, email: `late${n}@example.org`, role: 'reader' }));
                    }
                },
                done: () => writing,
                undo: () => withEngine(url, (engine) => engine.knex('users').where('email', `late${n}@example.org`).delete())
            };
        };

        it('makes the source read-only for the run, leaves it so after success, and does not copy the switch', { timeout: 120_000 }, async () => {

            const target = await pg('maintenance-on', false);
            const report = await migrateData({ source: source.url, target: target.url, validate: true, maintenance: true });
            expect(report.fatal).to.be.null();
            expect(report.ok).to.be.true();
            expect(report.maintenance).to.be.true();
            expect(report.sourceChanged).to.be.null();
            expect((await switchOf(source.url)).enabled).to.be.true();
            expect((await switchOf(target.url)).enabled).to.be.false();
            await withEngine(source.url, (engine) => engine.knex('maintenance_mode').update({ enabled: false }));
        });

        it('says the target may be stale when the source is written during a run without it, in both directions', { timeout: 180_000 }, async () => {

            const into = await pg('maintenance-stale');
            const writer = writeDuringCopy(source.url);
            const report = await migrateData({ source: source.url, target: into.url, batchSize: 2, onProgress: writer.onProgress });
            await writer.done();
            await writer.undo();
            expect(report.sourceChanged).to.equal(['the database file (SQLite does not say which table)']);
            expect(report.warnings.join('\n')).to.contain('the target may be stale');

            const back = await sqlite('maintenance-stale-back');
            const fromPostgres = writeDuringCopy(into.url);
            const second = await migrateData({ source: into.url, target: back.url, batchSize: 2, onProgress: fromPostgres.onProgress });
            await fromPostgres.done();
            expect(second.sourceChanged).to.equal(['users']);
            expect(second.warnings.join('\n')).to.contain('the target may be stale');

            // Nothing written during a run: nothing reported.
            const quiet = await migrateData({ source: into.url, target: (await sqlite('maintenance-quiet')).url });
            expect(quiet.ok).to.be.true();
            expect(quiet.sourceChanged).to.be.null();
        });

        it('fails a run with maintenance mode when the source changes anyway, and gives the library its writes back', { timeout: 120_000 }, async () => {

            const target = await pg('maintenance-bypassed');
            const writer = writeDuringCopy(source.url);
            const report = await migrateData({ source: source.url, target: target.url, batchSize: 2, maintenance: true, onProgress: writer.onProgress });
            await writer.done();
            await writer.undo();
            expect(report.ok).to.be.false();
            expect(report.fatal).to.contain('the source changed during the copy although maintenance mode was on');
            expect(report.maintenance).to.be.false();
            expect((await switchOf(source.url)).enabled).to.be.false();
        });

        it('is asked for by the CLI flag and the console checkbox', { timeout: 180_000 }, async () => {

            const target = await pg('maintenance-cli', false);
            const run = await new Promise<{ code: number | null; stdout: string }>((resolve) => {

                const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/migrate-data.ts', '--source', source.url, '--target', target.url, '--maintenance'], { cwd: ROOT });
                let stdout = '';
                child.stdout.on('data', (chunk) => (stdout += chunk));
                child.on('close', (code) => resolve({ code, stdout }));
            });
            expect(run.code, run.stdout).to.equal(0);
            expect(run.stdout).to.contain('maintenance: the source library is read-only');
            expect((await switchOf(source.url)).enabled).to.be.true();
            await withEngine(source.url, (engine) => engine.knex('maintenance_mode').update({ enabled: false }));

            const login = await loginSession(t.server);
            const consoleTarget = await pg('maintenance-console', false);
            const form = new URLSearchParams({ source: source.url, target: consoleTarget.url, maintenance: 'true', dryRun: 'false' }).toString();
            const started = await t.server.inject({ method: 'POST', url: '/console/panels/data-migration/start', headers: { cookie: login.cookie, 'x-csrf-token': login.crumb, 'content-type': 'application/x-www-form-urlencoded' }, payload: form });
            expect(started.statusCode, started.payload).to.equal(200);
            let job = (await inject('GET', '/migrator/jobs/current')).result as any;
            while (job.status === 'running') {
                await new Promise((resolve) => setTimeout(resolve, 100));
                job = (await inject('GET', '/migrator/jobs/current')).result;
            }

            expect(job.status, job.error).to.equal('succeeded');
            expect(job.report.maintenance).to.be.true();
            expect((await switchOf(source.url)).enabled).to.be.true();
            await withEngine(source.url, (engine) => engine.knex('maintenance_mode').update({ enabled: false }));
        });
    });
});
