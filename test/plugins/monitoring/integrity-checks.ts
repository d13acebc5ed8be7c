import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import Knex from 'knex';

import { isPostgres, postgresOnly, sqliteOnly } from '../../helpers/database';
import { eventually } from '../../helpers/monitoring';
import { adminHeaders, createTestServer, type TestServer } from '../../helpers/server';
import { databaseKey } from '../../../server/db/url';
import { loginSession } from '../console/helpers';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const MISSING = '00000000-0000-4000-8000-00000000dead';

describe('monitoring: integrity checks as jobs', () => {

    let t: TestServer;

    before(async () => {

        t = await createTestServer();
    });

    after(async () => {

        await t.stop();
    });

    const start = (payload: object, headers: Record<string, string> = adminHeaders) => t.server.inject({ method: 'POST', url: '/monitoring/integrity-checks', headers, payload });
    const poll = (id: string) => eventually(async () => {

        const res = await t.server.inject({ url: `/monitoring/integrity-checks/${id}`, headers: adminHeaders });
        expect(res.statusCode, res.payload).to.equal(200);
        const job = res.result as Record<string, any>;
        return job.state === 'running' ? undefined : job;
    }, 15_000, 'the integrity check to finish');

    it('needs the admin token, a confirmation and a known mode', async () => {

        expect((await start({ mode: 'quick', confirm: true }, {})).statusCode).to.equal(401);
        expect((await start({ mode: 'quick' })).statusCode).to.equal(400);
        expect((await start({ mode: 'thorough', confirm: true })).statusCode).to.equal(400);
        expect((await t.server.inject({ url: `/monitoring/integrity-checks/${MISSING}`, headers: adminHeaders })).statusCode).to.equal(404);
        expect((await t.server.inject({ url: '/monitoring/integrity-checks/not-a-job', headers: adminHeaders })).statusCode).to.equal(400);
    });

    it('sqlite only: answers 202 with a job in ops_jobs, which ends with the verdict', sqliteOnly, async () => {

        for (const mode of ['quick', 'full']) {
            const res = await start({ mode, confirm: true });
            expect(res.statusCode, res.payload).to.equal(202);
            const job = res.result as Record<string, any>;
            expect(job.mode).to.equal(mode);
            // A row of the jobs table, like a backup's: any instance can read it.
            const [row] = await t.server.knex('ops_jobs').where({ id: job.id });
            expect(row.kind).to.equal('integrity-check');
            const done = await poll(job.id);
            expect(done.state).to.equal('succeeded');
            expect(done.verdict).to.equal('ok');
            expect(done.problems).to.equal([]);
            expect(done.finished_at).to.be.a.string();
            expect(done.progress.page_count as number).to.be.above(0);
        }

        // The advisor shows the newest check.
        const advice = (await t.server.inject({ url: '/monitoring/advisor?fresh=true', headers: adminHeaders })).result as Record<string, any>;
        expect(advice.sqlite.integrity.state).to.equal('ok');
        expect(advice.sqlite.integrity.mode).to.equal('full');
    });

    it('sqlite only: refuses a second check while one runs on the database (409 naming it)', sqliteOnly, async () => {

        const key = databaseKey(t.config.database.url, t.config.rootDir);
        const running = await t.server.jobs.store.start('integrity-check', 'quick', key, { mode: 'quick' });
        try {
            const res = await start({ mode: 'quick', confirm: true });
            expect(res.statusCode).to.equal(409);
            expect((res.result as { message: string }).message).to.contain(running.id);
            const advice = (await t.server.inject({ url: '/monitoring/advisor?fresh=true', headers: adminHeaders })).result as Record<string, any>;
            expect(advice.sqlite.integrity.state).to.equal('running');
            expect(advice.sqlite.integrity.job_id).to.equal(running.id);
        }
        finally {
            await t.server.jobs.store.finish(running, 'cancelled', { result: null, error: 'test', progress: null });
        }
    });

    /** Runs a full check on a server of its own after `damage` altered the schema behind SQLite's back. */
    const checkDamaged = async (damage: string[]): Promise<Record<string, any>> => {

        const damaged = await createTestServer();
        try {
            const filename = (damaged.server.knex.client.config.connection as { filename: string }).filename;
            await damaged.server.knex.raw('CREATE TABLE check_me (id INTEGER PRIMARY KEY, label TEXT)');
            await damaged.server.knex.raw('CREATE INDEX check_me_label_idx ON check_me (label)');
            await damaged.server.knex.raw("INSERT INTO check_me (label) VALUES ('a'), ('b'), ('c')");
            const other = Knex({ client: 'sqlite3', connection: { filename }, useNullAsDefault: true, pool: { min: 1, max: 1 } });
            try {
                await other.raw('PRAGMA writable_schema = ON');
                for (const statement of damage) {
                    await other.raw(statement);
                }

                await other.raw('PRAGMA writable_schema = OFF');
            }
            finally {
                await other.destroy();
            }

            const res = await damaged.server.inject({ method: 'POST', url: '/monitoring/integrity-checks', headers: adminHeaders, payload: { mode: 'full', confirm: true } });
            expect(res.statusCode, res.payload).to.equal(202);
            const id = (res.result as { id: string }).id;
            return await eventually(async () => {

                const job = (await damaged.server.inject({ url: `/monitoring/integrity-checks/${id}`, headers: adminHeaders })).result as Record<string, any>;
                return job.state === 'running' ? undefined : job;
            }, 15_000, 'the check of the damaged file');
        }
        finally {
            await damaged.stop();
        }
    };

    it('sqlite only: reports an index that disagrees with its table as a failed job with the pragma\'s lines', sqliteOnly, async () => {

        // The index's definition now names another column than the one its entries hold.
        const done = await checkDamaged(["UPDATE sqlite_schema SET sql = 'CREATE INDEX check_me_label_idx ON check_me (id)' WHERE name = 'check_me_label_idx'"]);
        expect(done.state).to.equal('failed');
        expect(done.verdict, JSON.stringify(done)).to.equal('problems');
        expect(done.problems.length as number).to.be.above(0);
        expect(done.problems.join('\n')).to.contain('check_me_label_idx');
        expect(done.error).to.match(/problem\(s\) found/);
    });

    it('sqlite only: a file too damaged to check ends in a failed job that says why', sqliteOnly, async () => {

        // The index's root page now claims to be a table's.
        const done = await checkDamaged(["UPDATE sqlite_schema SET type = 'table', name = 'check_me_label_raw', tbl_name = 'check_me_label_raw', sql = 'CREATE TABLE check_me_label_raw (x)' WHERE name = 'check_me_label_idx'"]);
        expect(done.state).to.equal('failed');
        expect(done.verdict).to.be.null();
        expect(done.error).to.contain('SQLITE_CORRUPT');
    });

    it('sqlite only: the console panel\'s button starts a job (session + CSRF)', sqliteOnly, async () => {

        const login = await loginSession(t.server);
        const form = { action: 'integrity-check', mode: 'quick', confirm: 'yes' };
        const forged = await t.server.inject({ method: 'POST', url: '/console/panels/advisor/action', headers: { cookie: login.cookie }, payload: form });
        expect(forged.statusCode).to.equal(403);
        const res = await t.server.inject({ method: 'POST', url: '/console/panels/advisor/action', headers: { cookie: login.cookie, 'x-csrf-token': login.crumb, 'hx-request': 'true' }, payload: form });
        expect(res.statusCode, res.payload).to.equal(200);
        const id = /started as job ([0-9a-f-]{36})/.exec(res.payload)?.[1];
        expect(id).to.exist();
        expect((await poll(id!)).verdict).to.equal('ok');
    });

    it('postgres only: answers 400 saying what to use instead, and finds no check', postgresOnly, async () => {

        const res = await start({ mode: 'quick', confirm: true });
        expect(res.statusCode).to.equal(400);
        expect((res.result as { message: string }).message).to.contain('amcheck');
        expect(isPostgres).to.be.true();
        expect((await t.server.jobs.store.recent('integrity-check', 1))).to.equal([]);
    });
});
