import Fs from 'node:fs';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import type { BackupJob } from '../../../plugins/backup/jobs';
import { createDatabaseEngine } from '../../../server/db/engine';
import { filesIn, tempBackupDir, PG_TOOL_PATH } from '../../helpers/backup';
import { adminHeaders, createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

describe('backup routes and console panel', () => {

    let t: TestServer;
    let dir: string;
    let database: string;

    const inject = (method: string, url: string, payload?: object, headers: object = adminHeaders) => t.server.inject({ method, url, payload, headers: headers as Record<string, string> });

    const finished = async (job: BackupJob): Promise<BackupJob> => {

        for (;;) {
            const res = await inject('GET', `/backup-jobs/${job.id}`);
            expect(res.statusCode).to.equal(200);
            const current = res.result as BackupJob;
            if (current.state !== 'running') {
                return current;
            }

            await new Promise((resolve) => setTimeout(resolve, 50));
        }
    };

    const createBackup = async (): Promise<string> => {

        const res = await inject('POST', '/backups', {});
        expect(res.statusCode, res.payload).to.equal(202);
        const job = await finished((res.result as { job: BackupJob }).job);
        expect(job.state, job.error ?? '').to.equal('succeeded');
        return (job.result as { name: string }).name;
    };

    before(async () => {

        dir = tempBackupDir();
        t = await createTestServer({ BACKUP_DIR: dir, BACKUP_PG_BIN_DIR: PG_TOOL_PATH.split(':')[0]! });
        await t.server.knex('users').insert([{ email: 'ada@example.org' }, { email: 'alan@example.org' }]);
        database = ((await inject('GET', '/backups')).result as { database: string }).database;
    });

    after(async () => {

        await t.stop();
        Fs.rmSync(dir, { recursive: true, force: true });
    });

    it('refuses every backup route and the panel without the admin token', async () => {

        for (const [method, url] of [['GET', '/backups'], ['POST', '/backups'], ['POST', '/backups/prune']] as const) {
            const res = await inject(method, url, {}, {});
            expect(res.statusCode, url).to.equal(401);
        }

        // The console sends a browser without a session to its login form.
        for (const [method, url] of [['GET', '/console/panels/backups'], ['POST', '/console/panels/backups/create']] as const) {
            const res = await inject(method, url, { format: 'custom' }, {});
            expect([302, 401], url).to.include(res.statusCode);
            if (res.statusCode === 302) {
                expect(String(res.headers.location), url).to.startWith('/console/login');
            }
        }

        expect(filesIn(dir)).to.equal([]);

        expect((await inject('GET', '/backups', undefined, { authorization: 'Bearer wrong-token-0123456789' })).statusCode).to.equal(401);
    });

    it('creates a backup as a job with progress, lists it and verifies it', { timeout: 60_000 }, async () => {

        const res = await inject('POST', '/backups', { format: t.server.db.type === 'postgres' ? 'custom' : 'sqlite' });
        expect(res.statusCode).to.equal(202);
        const job = (res.result as { job: BackupJob }).job;
        expect(job.state).to.equal('running');
        const busy = await inject('POST', '/backups', {});
        expect(busy.statusCode).to.equal(409);

        const done = await finished(job);
        expect(done.state).to.equal('succeeded');
        expect(done.progress!.phase).to.be.a.string();
        const name = (done.result as { name: string }).name;

        const list = (await inject('GET', '/backups')).result as { backups: Array<{ name: string; size: number; sha256: string; verification: unknown; tables: Record<string, number> }> };
        const entry = list.backups.find((candidate) => candidate.name === name)!;
        expect(entry.size).to.be.above(0);
        expect(entry.tables.users).to.equal(2);
        expect(entry.verification).to.be.null();

        const verify = await inject('POST', `/backups/${name}/verify`);
        expect(verify.statusCode).to.equal(202);
        const verified = await finished((verify.result as { job: BackupJob }).job);
        expect(verified.state).to.equal('succeeded');
        expect((verified.result as { ok: boolean }).ok).to.be.true();
        const after = (await inject('GET', '/backups')).result as typeof list;
        expect(after.backups.find((candidate) => candidate.name === name)!.verification).to.include({ ok: true });
    });

    it('validates restores: confirmation, names from the list only, table names', { timeout: 60_000 }, async () => {

        const name = await createBackup();
        const restore = (target: string, payload: object) => inject('POST', `/backups/${target}/restore`, payload);

        expect((await restore(name, { tables: ['users'] })).statusCode).to.equal(400);
        const wrong = await restore(name, { confirm: 'yes', tables: ['users'] });
        expect(wrong.statusCode).to.equal(400);
        expect(JSON.parse(wrong.payload).message).to.contain(`set confirm to the database name "${database}"`);

        const traversal = await restore(encodeURIComponent('../../etc/passwd'), { confirm: database });
        expect(traversal.statusCode).to.equal(400);
        expect(JSON.parse(traversal.payload).message).to.contain('is not a backup name');
        expect((await inject('POST', `/backups/${encodeURIComponent('../../etc/passwd')}/verify`)).statusCode).to.equal(400);
        expect((await restore(name.replace(/\d{8}T/, '19990101T'), { confirm: database })).statusCode).to.equal(404);
        expect((await restore(name, { confirm: database, tables: ['users; DROP TABLE users'] })).statusCode).to.equal(400);
        expect((await restore(name, { confirm: database, tables: ['no_such_table'] })).statusCode).to.equal(400);
        expect((await inject('POST', '/backups', { format: 'zip' })).statusCode).to.equal(400);
        expect((await inject('GET', '/backup-jobs/not-a-job')).statusCode).to.equal(400);
    });

    it('restores a table from a backup after its rows were deleted', { timeout: 60_000 }, async () => {

        const name = await createBackup();
        await t.server.knex('users').delete();
        const res = await inject('POST', `/backups/${name}/restore`, { confirm: database, tables: ['users'] });
        expect(res.statusCode).to.equal(202);
        const job = await finished((res.result as { job: BackupJob }).job);
        expect(job.state, job.error ?? '').to.equal('succeeded');
        expect(job.result).to.equal({ mode: 'partial', tables: { users: 2 } });
        expect((await t.server.knex('users').orderBy('email').pluck('email'))).to.equal(['ada@example.org', 'alan@example.org']);
    });

    it('previews and applies the retention policy', { timeout: 60_000 }, async () => {

        const preview = await inject('POST', '/backups/prune', { dryRun: true });
        expect(preview.statusCode).to.equal(200);
        const plan = preview.result as { keep: unknown[]; remove: string[]; dryRun: boolean };
        expect(plan.dryRun).to.be.true();
        expect(plan.keep.length).to.be.above(0);
        expect((await inject('POST', '/backups/prune', { dryRun: 'perhaps' })).statusCode).to.equal(400);
    });

    it('renders the Backups panel and runs its actions', { timeout: 60_000 }, async () => {

        const name = await createBackup();
        const panel = await inject('GET', '/console/panels/backups');
        expect(panel.statusCode).to.equal(200);
        expect(panel.payload).to.contain(name);
        expect(panel.payload).to.contain(`Type <code>${database}</code> to confirm`);
        expect(panel.payload).to.contain('hx-post="/console/panels/backups/create"');

        const refused = await inject('POST', '/console/panels/backups/restore', { name, confirm: 'nope', tables: 'users' });
        expect(refused.statusCode).to.equal(200);
        expect(refused.payload).to.contain('Not restored: type the database name');
        const badName = await inject('POST', '/console/panels/backups/verify', { name: '../../etc/passwd' });
        expect(badName.payload).to.contain('is not a backup name');
        const invalid = await inject('POST', '/console/panels/backups/create', { format: '<script>' });
        expect(invalid.statusCode).to.equal(400);
        expect(invalid.payload).to.not.contain('<script>');

        const started = await inject('POST', '/console/panels/backups/verify', { name });
        expect(started.payload).to.contain(`Verifying ${name}`);
        expect(started.payload).to.contain('hx-trigger="console:refresh" data-refresh-seconds="2"');
        const job = await (t.server.plugins as any).backup.jobs.running() as BackupJob;
        await finished(job);
        const done = await inject('GET', '/console/panels/backups');
        expect(done.payload).to.contain('checksum and row counts match');
        expect(done.payload).to.match(/badge-ok[^>]*>verified/);

        const pruned = await inject('POST', '/console/panels/backups/prune', { dryRun: 'true' });
        expect(pruned.payload).to.match(/Would delete|Nothing to prune/);
        expect((t.server.plugins as any).backup.consolePanels).to.equal([{ id: 'backups', title: 'Backups', order: 50, path: '/console/panels/backups' }]);
    });

    it('stops a running job when the server stops and leaves no partial file', { timeout: 60_000 }, async () => {

        const other = await createTestServer({ BACKUP_DIR: dir });
        const res = await other.server.inject({ method: 'POST', url: '/backups', payload: {}, headers: adminHeaders });
        expect(res.statusCode).to.equal(202);
        const { id } = (res.result as { job: BackupJob }).job;
        await other.server.stop();
        expect(filesIn(dir).filter((file) => file.startsWith('.'))).to.equal([]);
        // The stop recorded the job's end in the database before the pool closed.
        const engine = createDatabaseEngine(other.database.url, { min: 0, max: 1 });
        try {
            const row = await engine.knex('ops_jobs').where({ id }).first();
            expect(row.state).to.not.equal('running');
            expect(row.finished_at).to.exist();
        }
        finally {
            await engine.destroy();
            await other.database.cleanup();
        }
    });
});
