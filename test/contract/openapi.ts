import Fs from 'node:fs';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import type { ServerInjectOptions } from '@hapi/hapi';

import { filesIn, tempBackupDir, PG_TOOL_PATH } from '../helpers/backup';
import { ContractChecker } from '../helpers/contract';
import { adminHeaders, createTestServer, type TestServer } from '../helpers/server';
import { scratchSqlite } from '../plugins/migrator/fixtures';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const MISSING = '00000000-0000-4000-8000-00000000abcd';

describe('contract: real responses match /openapi.json', () => {

    let t: TestServer;
    let contract: ContractChecker;
    let backupDir: string;

    const call = async (method: string, url: string, expected: number, payload?: unknown, options: Partial<ServerInjectOptions> = {}) => {

        const res = await contract.inject(t.server, { method, url, payload: payload as object, headers: adminHeaders, ...options });
        expect(res.statusCode, `${method} ${url}: ${res.payload}`).to.equal(expected);
        return res.result as Record<string, any>;
    };

    const finished = async (url: string, done: (body: Record<string, any>) => boolean) => {

        for (;;) {
            const body = await call('GET', url, 200);
            if (done(body)) {
                return body;
            }

            await new Promise((resolve) => setTimeout(resolve, 50));
        }
    };

    before(async () => {

        backupDir = tempBackupDir();
        t = await createTestServer({ BACKUP_DIR: backupDir, BACKUP_PG_BIN_DIR: PG_TOOL_PATH.split(':')[0]! });
        contract = await ContractChecker.load(t.server);
        const now = new Date().toISOString();
        await t.server.knex('classification_codes').insert([
            { code: '000', label: 'Computer science', parent_code: null, created_at: now, updated_at: now },
            { code: '005', label: 'Programming', parent_code: '000', created_at: now, updated_at: now }
        ]);
        const root = { id: '10000000-0000-4000-8000-000000000001', name: 'Science', slug: 'science', parent_id: null, level: 0, path: '/science', created_at: now, updated_at: now };
        await t.server.knex('taxonomy_nodes').insert([
            root,
            { id: '10000000-0000-4000-8000-000000000002', name: 'Physics', slug: 'physics', parent_id: root.id, level: 1, path: '/science/physics', created_at: now, updated_at: now }
        ]);
    });

    after(async () => {

        await t?.stop();
        Fs.rmSync(backupDir, { recursive: true, force: true });
    });

    it('answers the API routes, their successes and their errors, as declared', async () => {

        await call('GET', '/health', 200);

        const resource = await call('POST', '/resources', 201, { title: 'Contracts on two dialects', subject: ['api'], classification_code: '005', embedding: [0.5], sparse_embedding: { api: 1 } });
        await call('POST', '/resources', 201, { title: 'A second resource' });
        await call('POST', '/resources', 400, { title: '' });
        await call('POST', '/resources', 415, '<title/>', { headers: { ...adminHeaders, 'content-type': 'application/xml' } });
        await call('POST', '/resources', 422, { title: 'Dangling', classification_code: 'nope' });
        const page = await call('GET', '/resources?limit=1', 200);
        expect(page.next_cursor).to.be.a.string();
        await call('GET', `/resources?limit=1&cursor=${page.next_cursor}`, 200);
        await call('GET', '/resources?limit=0', 400);
        await call('GET', `/resources/${resource.id}`, 200);
        await call('GET', `/resources/${MISSING}`, 404);
        await call('PATCH', `/resources/${resource.id}`, 200, { subject_add: ['contracts'], read_status: 'read' });
        await call('PATCH', `/resources/${MISSING}`, 404, { title: 'x' });

        const parent = await call('POST', '/collections', 201, { name: 'Reading list' });
        const child = await call('POST', '/collections', 201, { name: 'Chapter', parent_id: parent.id });
        await call('POST', '/collections', 400, {});
        await call('GET', '/collections', 200);
        await call('GET', '/collections?limit=500', 400);
        await call('GET', `/collections/${parent.id}`, 200);
        await call('GET', `/collections/${MISSING}`, 404);
        await call('PATCH', `/collections/${child.id}`, 200, { description: 'nested' });
        await call('PATCH', `/collections/${parent.id}`, 422, { parent_id: child.id });
        await call('PUT', `/collections/${parent.id}/resources/${resource.id}`, 204);
        await call('PUT', `/collections/${parent.id}/resources/${MISSING}`, 404);
        await call('GET', `/collections/${parent.id}/resources`, 200);
        await call('GET', `/collections/${MISSING}/resources`, 404);
        await call('DELETE', `/collections/${parent.id}/resources/${resource.id}`, 204);
        await call('DELETE', `/collections/${parent.id}/resources/${resource.id}`, 404);

        const annotation = await call('POST', `/resources/${resource.id}/annotations`, 201, { start_offset: 0, end_offset: 5, highlighted_text: 'Contr', tags: ['a'] });
        await call('POST', `/resources/${MISSING}/annotations`, 404, { start_offset: 0, end_offset: 1, highlighted_text: 'x' });
        await call('GET', `/resources/${resource.id}/annotations?tag=a`, 200);
        await call('GET', `/resources/${MISSING}/annotations`, 404);
        await call('GET', `/resources/${resource.id}/annotations/${annotation.id}`, 200);
        await call('GET', `/resources/${resource.id}/annotations/${MISSING}`, 404);
        await call('PATCH', `/resources/${resource.id}/annotations/${annotation.id}`, 200, { note: 'checked' });
        await call('PATCH', `/resources/${resource.id}/annotations/${annotation.id}`, 400, { start_offset: 10 });
        await call('DELETE', `/resources/${resource.id}/annotations/${annotation.id}`, 204);
        await call('DELETE', `/resources/${resource.id}/annotations/${annotation.id}`, 404);

        await call('GET', '/classification-codes', 200);
        await call('GET', '/classification-codes?parent_code=' + 'x'.repeat(40), 400);
        await call('GET', '/classification-codes/000', 200);
        await call('GET', '/classification-codes/nope', 404);
        await call('GET', '/taxonomy', 200);
        await call('GET', '/taxonomy/10000000-0000-4000-8000-000000000001', 200);
        await call('GET', `/taxonomy/${MISSING}`, 404);

        const hits = await call('GET', '/search?q=contracts', 200);
        expect(hits.total).to.equal(1);
        await call('GET', '/search?q=zzqxv', 200);
        await call('GET', '/search', 400);

        await call('DELETE', `/collections/${parent.id}`, 204);
        await call('DELETE', `/collections/${parent.id}`, 404);
        await call('DELETE', `/resources/${resource.id}`, 204);
        await call('DELETE', `/resources/${resource.id}`, 404);
    });

    it('answers the ops routes as declared, with and without the admin token', { timeout: 120_000 }, async () => {

        const anonymous = { headers: {} };
        for (const url of ['/monitoring/database', '/monitoring/queries', '/monitoring/connections', '/monitoring/advisor', '/monitoring/history', `/monitoring/integrity-checks/${MISSING}`, '/metrics', '/ops/overview', '/backups', '/backup-jobs', '/migrator/schema']) {
            await call('GET', url, 401, undefined, anonymous);
        }

        await call('GET', '/monitoring/database', 200);
        await call('GET', '/monitoring/queries?slow_limit=5', 200);
        await call('GET', '/monitoring/queries?slow_limit=-1', 400);
        await call('GET', '/monitoring/connections', 200);
        await call('GET', '/monitoring/history', 200);
        await call('GET', '/monitoring/history?minutes=0', 400);
        const advice = await call('GET', '/monitoring/advisor?fresh=true', 200);
        await call('GET', '/monitoring/advisor?fresh=maybe', 400);
        const postgres = advice.database_type === 'postgres';
        await call('POST', '/monitoring/advisor/actions', 200, postgres ? { action: 'analyze', table: 'resources', confirm: true } : { action: 'checkpoint', confirm: true });
        await call('POST', '/monitoring/advisor/actions', 400, { action: 'analyze', table: 'resources' });
        if (postgres) {
            await call('POST', '/monitoring/advisor/actions', 404, { action: 'cancel', pid: 2_000_000_000, confirm: true });
            // pg_stat_statements is not loaded on the suite's server.
            await call('POST', '/monitoring/advisor/actions', 409, { action: 'reset-query-stats', confirm: true });
        }
        if (postgres) {
            await call('POST', '/monitoring/integrity-checks', 400, { mode: 'quick', confirm: true });
        }
        else {
            const check = await call('POST', '/monitoring/integrity-checks', 202, { mode: 'quick', confirm: true });
            const checked = await finished(`/monitoring/integrity-checks/${check.id}`, (job) => job.state !== 'running');
            expect(checked.verdict).to.equal('ok');
        }

        await call('POST', '/monitoring/integrity-checks', 400, { mode: 'quick' });
        await call('GET', `/monitoring/integrity-checks/${MISSING}`, 404);
        await call('GET', '/metrics', 200);
        await call('GET', '/ops/overview', 200);
        await call('GET', '/ops/maintenance', 200);
        await call('GET', '/ops/maintenance', 401, undefined, { headers: {} });
        await call('POST', '/ops/maintenance', 400, { enabled: 'sometimes' });
        expect((await call('POST', '/ops/maintenance', 200, { enabled: true, message: 'Moving to PostgreSQL' })).enabled).to.be.true();
        await call('POST', '/resources', 503, { title: 'Written during maintenance' });
        expect((await call('POST', '/ops/maintenance', 200, { enabled: false })).enabled).to.be.false();

        await call('GET', '/backups', 200);
        await call('GET', '/backups/freshness', 200);
        await call('GET', '/backups/freshness', 401, undefined, { headers: {} });
        await call('POST', '/backups', 400, { format: 'zip' });
        const started = await call('POST', '/backups', 202, {});
        const created = await finished(`/backup-jobs/${started.job.id}`, (job) => job.state !== 'running');
        expect(created.state, created.error).to.equal('succeeded');
        const name = created.result.name as string;
        expect(filesIn(backupDir)).to.include(name);
        await call('GET', '/backup-jobs', 200);
        await call('GET', `/backup-jobs/${MISSING}`, 404);
        await call('GET', '/backup-jobs/not-a-job', 400);
        const verifying = await call('POST', `/backups/${name}/verify`, 202);
        const verified = await finished(`/backup-jobs/${verifying.job.id}`, (job) => job.state !== 'running');
        expect(verified.state, verified.error).to.equal('succeeded');
        await call('GET', '/backups', 200);
        const absent = name.replace(/_\d{4}/, '_1999');
        await call('POST', `/backups/${absent}/verify`, 404);
        await call('POST', `/backups/${name}/restore`, 400, { confirm: 'not the database' });
        await call('POST', `/backups/${absent}/restore`, 404, { confirm: (await call('GET', '/backups', 200)).database });
        const restoring = await call('POST', `/backups/${name}/restore`, 202, { confirm: (await call('GET', '/backups', 200)).database, tables: ['users'] });
        const restored = await finished(`/backup-jobs/${restoring.job.id}`, (job) => job.state !== 'running');
        expect(restored.state, restored.error).to.equal('succeeded');
        await call('POST', '/backups/prune', 200, { dryRun: true });
        await call('POST', '/backups/prune', 400, { dryRun: 'maybe' });

        await call('GET', '/migrator/schema', 200);
        await call('POST', '/migrator/schema/rollback', 400, {});
        await call('POST', '/migrator/schema/rollback', 200, { confirm: true });
        await call('POST', '/migrator/schema/latest', 200);
        await t.server.knex('knex_migrations_lock').update({ is_locked: 1 });
        try {
            await call('POST', '/migrator/schema/latest', 409);
        }
        finally {
            await t.server.knex('knex_migrations_lock').update({ is_locked: 0 });
        }

        await call('GET', '/migrator/jobs/current', 404);
        await call('DELETE', '/migrator/jobs/current', 409);
        await call('POST', '/migrator/jobs', 400, { source: t.database.url, target: 'mysql://x/y' });
        const target = scratchSqlite('contract');
        try {
            const dry = await call('POST', '/migrator/jobs', 202, { source: t.database.url, target: target.url, dryRun: true });
            const job = await finished('/migrator/jobs/current', (body) => body.status !== 'running');
            expect(job.status, job.error).to.equal('succeeded');
            expect((await call('GET', `/migrator/jobs/${dry.id}`, 200)).status).to.equal('succeeded');
            await call('GET', `/migrator/jobs/${MISSING}`, 404);
            await call('GET', '/migrator/jobs/not-a-job', 400);
            expect((await call('GET', '/migrator/jobs', 200)).jobs.map((entry: any) => entry.id)).to.include(dry.id);
            await call('GET', '/migrator/jobs', 401, undefined, { headers: {} });

            // Enough one-row batches that the job is still running when cancelled.
            await t.server.knex.batchInsert('users', Array.from({ length: 400 }, (_, i) => ({ id: `20000000-0000-4000-8000-${String(i).padStart(12, '0')}`, email: `reader${i}@example.org` })), 100);
            await call('POST', '/migrator/jobs', 202, { source: t.database.url, target: target.url, batchSize: 1, validate: false });
            await call('DELETE', '/migrator/jobs/current', 202);
            const cancelled = await finished('/migrator/jobs/current', (body) => body.status !== 'running');
            expect(cancelled.status, cancelled.error).to.equal('cancelled');
        }
        finally {
            await target.drop();
        }
    });

    it('answers the SQLite-only integrity checks on a SQLite server (in the PostgreSQL suite too)', async () => {

        const file = scratchSqlite('contract-integrity');
        const lite = await createTestServer({ DATABASE_URL: file.url });
        try {
            const checker = await ContractChecker.load(lite.server);
            const inject = async (method: string, url: string, expected: number, payload?: object) => {

                const res = await checker.inject(lite.server, { method, url, payload, headers: adminHeaders });
                expect(res.statusCode, `${method} ${url}: ${res.payload}`).to.equal(expected);
                return res.result as Record<string, any>;
            };

            const job = await inject('POST', '/monitoring/integrity-checks', 202, { mode: 'full', confirm: true });
            for (;;) {
                const body = await inject('GET', `/monitoring/integrity-checks/${job.id}`, 200);
                if (body.state !== 'running') {
                    expect(body.verdict).to.equal('ok');
                    break;
                }

                await new Promise((resolve) => setTimeout(resolve, 50));
            }

            await inject('POST', '/monitoring/integrity-checks', 400, { mode: 'full' });
            await inject('GET', `/monitoring/integrity-checks/${MISSING}`, 404);
            for (const [operation, statuses] of checker.seen) {
                statuses.forEach((status) => contract.seen.get(operation)?.add(status));
            }
        }
        finally {
            await lite.stop();
            await file.drop();
        }
    });

    it('answers 403 on ops routes when the server has no admin token', async () => {

        const bare = await createTestServer({ ADMIN_TOKEN: '' });
        try {
            const checker = await ContractChecker.load(bare.server);
            for (const url of ['/monitoring/database', '/backups', '/migrator/schema']) {
                const res = await checker.inject(bare.server, { url, headers: adminHeaders });
                expect(res.statusCode, `${url}: ${res.payload}`).to.equal(403);
            }

            for (const [operation, statuses] of checker.seen) {
                statuses.forEach((status) => contract.seen.get(operation)?.add(status));
            }
        }
        finally {
            await bare.stop();
        }
    });

    it('has exercised every operation of the document, with a success and an error each', () => {

        const missing: string[] = [];
        for (const operation of contract.operations()) {
            const statuses = [...contract.seen.get(operation) ?? []];
            if (!statuses.some((status) => status < 300) || (!statuses.some((status) => status >= 400) && !['get /health', 'get /taxonomy'].includes(operation))) {
                missing.push(`${operation} (${statuses.join(', ') || 'never called'})`);
            }
        }

        expect(missing, 'operations without a checked success and error').to.equal([]);
    });
});
