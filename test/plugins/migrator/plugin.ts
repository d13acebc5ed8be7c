import Fs from 'node:fs';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { createDatabaseEngine } from '../../../server/db/engine';
import { createTestServer, adminHeaders, type TestServer } from '../../helpers/server';
import { insertAwkwardLibrary, migrated, scratchPostgres, scratchSqlite, withEngine, type ScratchSqlite } from './fixtures';
import { needsPostgres } from '../../helpers/requirements';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

// Tests that move data to or from PostgreSQL, whatever the suite's dialect.
const postgres = needsPostgres();

describe('plugin: migrator', () => {

    let t: TestServer;
    let source: ScratchSqlite;
    const cleanup: Array<() => Promise<void>> = [];

    before({ timeout: 120_000 }, async () => {

        t = await createTestServer();
        source = await migrated(scratchSqlite('plugin-source'));
        cleanup.push(source.drop);
        await withEngine(source.url, (engine) => insertAwkwardLibrary(engine.knex, 40));
    });

    after({ timeout: 120_000 }, async () => {

        await t.stop();
        for (const drop of cleanup.reverse()) {
            await drop();
        }
    });

    const inject = (method: string, url: string, payload?: object | string, headers: Record<string, string> = adminHeaders) => t.server.inject({ method, url, payload, headers });

    const finished = async () => {

        for (let i = 0; i < 300; ++i) {
            const res = await inject('GET', '/migrator/jobs/current');
            if ((res.result as any).status !== 'running') {
                return res.result as any;
            }

            await new Promise((resolve) => setTimeout(resolve, 100));
        }

        throw new Error('the job did not finish');
    };

    it('refuses every route without the admin token', async () => {

        for (const [method, url] of [['GET', '/migrator/schema'], ['POST', '/migrator/schema/latest'], ['POST', '/migrator/jobs'], ['POST', '/console/panels/schema-migrations/rollback']]) {
            const res = await inject(method!, url!, undefined, {});
            expect(res.statusCode, url).to.equal(401);
        }

        // A console page without a session goes to the login form instead.
        const page = await inject('GET', '/console/panels/data-migration', undefined, {});
        expect(page.statusCode).to.equal(302);
        expect(page.headers.location).to.match(/^\/console\/login/);
    });

    it('exposes its two console panels', () => {

        const panels = (t.server.plugins as any).migrator.consolePanels;
        expect(panels.map((panel: any) => panel.id)).to.equal(['schema-migrations', 'data-migration']);
    });

    it('lists schema migrations, rolls back the last batch and applies it again', async () => {

        const status = await inject('GET', '/migrator/schema');
        expect(status.statusCode).to.equal(200);
        expect(status.result).to.include({ pending: [], locked: false });
        const completed = (status.result as any).completed as string[];
        expect(completed.length).to.be.at.least(2);

        expect((await inject('POST', '/migrator/schema/rollback', {})).statusCode).to.equal(400);
        const rolled = await inject('POST', '/migrator/schema/rollback', { confirm: true });
        expect(rolled.statusCode, rolled.payload).to.equal(200);
        expect(((rolled.result as any).migrations as string[]).length).to.be.above(0);
        expect((await inject('GET', '/migrator/schema')).result).to.include({ pending: (rolled.result as any).migrations.map((name: string) => name).sort() });

        const latest = await inject('POST', '/migrator/schema/latest');
        expect(latest.statusCode).to.equal(200);
        expect((latest.result as any).migrations.sort()).to.equal((rolled.result as any).migrations.sort());
        expect((await inject('GET', '/migrator/schema')).result).to.include({ completed, pending: [] });
    });

    it('respects knex\'s migration lock with a clear message', async () => {

        await t.server.knex('knex_migrations_lock').update({ is_locked: 1 });
        try {
            const res = await inject('POST', '/migrator/schema/latest');
            expect(res.statusCode).to.equal(409);
            expect((res.result as any).message).to.contain('migration lock');
            const panel = await inject('POST', '/console/panels/schema-migrations/rollback');
            expect(panel.statusCode).to.equal(409);
            expect(panel.payload).to.contain('migrate:unlock');
            expect((await inject('GET', '/migrator/schema')).result).to.include({ locked: true });
        }
        finally {
            await t.server.knex('knex_migrations_lock').update({ is_locked: 0 });
        }
    });

    it('shows the schema panel with a confirmation step before acting', async () => {

        const panel = await inject('GET', '/console/panels/schema-migrations');
        expect(panel.statusCode).to.equal(200);
        expect(panel.headers['content-type']).to.contain('text/html');
        expect(panel.payload).to.contain('20261123000100_core_schema.ts');
        const confirm = await inject('GET', '/console/panels/schema-migrations/confirm?action=rollback');
        expect(confirm.payload).to.contain('hx-post="/console/panels/schema-migrations/rollback"');
        expect((await inject('GET', '/console/panels/schema-migrations/confirm?action=drop')).statusCode).to.equal(400);
    });

    it('validates job payloads', async () => {

        for (const payload of [
            {},
            { source: source.url, target: 'mysql://root:hunter2@x/y' },
            { source: source.url, target: 'sqlite:/tmp/x.db', batchSize: 0 },
            { source: source.url, target: 'sqlite:/tmp/x.db', tables: ['bad name'] },
            { source: source.url, target: 'sqlite:/tmp/x.db', unknown: true },
            { source: 'sqlite:/nonexistent/source.db', target: 'sqlite:/tmp/x.db' }
        ]) {
            const res = await inject('POST', '/migrator/jobs', payload);
            expect(res.statusCode, JSON.stringify(payload)).to.equal(400);
            expect(res.payload).to.not.contain('hunter2');
        }
    });

    it('runs one data migration at a time in the background with live progress and a final report', { ...postgres, timeout: 180_000 }, async () => {

        const target = await scratchPostgres('plugin');
        cleanup.push(target.drop);
        const started = await inject('POST', '/migrator/jobs', { source: source.url, target: target.url, batchSize: 5 });
        expect(started.statusCode, started.payload).to.equal(202);
        expect(started.result).to.include({ status: 'running' });

        const second = await inject('POST', '/migrator/jobs', { source: source.url, target: target.url });
        expect(second.statusCode).to.equal(409);

        const status = await inject('GET', '/console/panels/data-migration/status');
        expect(status.payload).to.match(/data-refresh-seconds="2"|Migration succeeded/);
        // The form's buttons come along out of band: disabled while the job runs.
        expect(status.payload).to.match(/<div class="actions" id="data-migration-actions" hx-swap-oob="true">\s*<button class="btn" type="submit" name="dryRun" value="true"( disabled)?>/);
        expect(/name="dryRun" value="true" disabled/.test(status.payload)).to.equal(status.payload.includes('Migration running'));

        const job = await finished();
        expect(job.status, job.error).to.equal('succeeded');
        expect(job.report.tables.find((table: any) => table.table === 'resources')).to.include({ sourceRows: 40, targetRows: 40, checksumMatch: true });
        expect(job.tables.every((table: any) => table.status === 'done' && table.done === table.rows)).to.be.true();

        const panel = await inject('GET', '/console/panels/data-migration');
        expect(panel.payload).to.contain('Migration succeeded');
        expect(panel.payload).to.match(/<td>resources<\/td>\s*<td class="num">40 \/ 40<\/td>\s*<td><span class="badge badge-ok">match<\/span><\/td>/);
        // One status sentence, and the buttons are back.
        expect(panel.payload).to.match(/<strong>Migration succeeded<\/strong>: \d+ row\(s\) in /);
        expect(panel.payload).to.not.contain('succeeded.');
        expect(panel.payload).to.not.match(/<button[^>]+name="dryRun"[^>]+disabled/);
    });

    it('validates the console form and starts a dry run from it', { timeout: 120_000 }, async () => {

        const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
        const headers = { ...adminHeaders, 'content-type': 'application/x-www-form-urlencoded' };
        const bad = await t.server.inject({ method: 'POST', url: '/console/panels/data-migration/start', headers, payload: form({ source: 'nope', target: 'postgres://admin:hunter2@db/x', dryRun: 'true' }) });
        expect(bad.statusCode).to.equal(400);
        expect(bad.payload).to.not.contain('hunter2');
        expect(bad.payload).to.contain('role="alert"');
        expect(bad.payload).to.contain('Accepted forms');

        const target = scratchSqlite('plugin-dry');
        cleanup.push(target.drop);
        const dry = await t.server.inject({ method: 'POST', url: '/console/panels/data-migration/start', headers, payload: form({ source: source.url, target: target.url, dryRun: 'true', validate: 'true' }) });
        expect(dry.statusCode, dry.payload).to.equal(200);
        // Only the job's status and the buttons come back: the form keeps what was typed.
        expect(dry.payload).to.contain('id="data-migration-status"');
        expect(dry.payload).to.contain('id="data-migration-actions" hx-swap-oob="true"');
        expect(dry.payload).to.not.contain('name="source"');
        const job = await finished();
        expect(job).to.include({ status: 'succeeded', dryRun: true });
        expect(Fs.existsSync(target.filename)).to.be.false();
    });

    it('cancels a running job when the server stops, leaving it resumable', { ...postgres, timeout: 180_000 }, async () => {

        // Progress written often, so the first copied batch is seen before the small library is done.
        const server = await createTestServer({ JOB_PROGRESS_INTERVAL_MS: '100' });
        const target = await scratchPostgres('plugin-stop');
        cleanup.push(target.drop);
        try {
            const res = await server.server.inject({ method: 'POST', url: '/migrator/jobs', payload: { source: source.url, target: target.url, batchSize: 1 }, headers: adminHeaders });
            expect(res.statusCode).to.equal(202);
            // Stop as soon as the first batch has been copied.
            const jobs = (server.server.plugins as any).migrator.jobs;
            for (let job = await jobs.current(); !job.tables.some((table: any) => table.done > 0) && job.status === 'running'; job = await jobs.current()) {
                await new Promise((resolve) => setTimeout(resolve, 5));
            }

            await server.server.stop();
            // The stop recorded the end in the database before the pool closed.
            const engine = createDatabaseEngine(server.database.url, { min: 0, max: 1 });
            try {
                const row = await engine.knex('ops_jobs').where({ kind: 'data-migration' }).orderBy('started_at', 'desc').first();
                expect(row.state).to.equal('cancelled');
                expect(row.error).to.contain('--resume');
            }
            finally {
                await engine.destroy();
            }
        }
        finally {
            await server.database.cleanup();
        }
    });
});
