// Several real server processes on one PostgreSQL database, started at the
// same moment on an empty database: they all come up (one migrates and
// seeds, the others wait), share their jobs, refuse a second backup on any
// instance, and fail the job of an instance that was killed once its lease
// has passed.

import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import Knex, { type Knex as KnexType } from 'knex';

import { testDatabaseUrl } from '../../server/config';
import { MIGRATIONS_DIR } from '../../server/db/migrations';
import { PG_TOOL_PATH } from '../helpers/backup';
import { dropPostgresDatabase, ensurePostgresDatabase, postgresOnly } from '../helpers/database';
import { startInstances, type Instance } from '../helpers/instances';
import { TEST_ADMIN_TOKEN, TEST_SESSION_SECRET } from '../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const LEASE_MS = 2_000;

/** A database of its own for these tests, next to the suite's test database. */
function scratchUrl(): string {

    const url = new URL(testDatabaseUrl() ?? 'postgres://postgres@127.0.0.1:5432/neo_alexandria_test');
    url.pathname = `${decodeURIComponent(url.pathname.slice(1))}_instances`;
    return url.toString();
}

async function freshDatabase(url: string): Promise<KnexType> {

    await dropPostgresDatabase(url);
    await ensurePostgresDatabase(url);
    return Knex({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
}

const headers = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' };

async function call(instance: Instance, method: string, path: string, body?: object): Promise<{ status: number; json: any }> {

    const res = await fetch(`${instance.uri}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, json: await res.json() };
}

/** Logs in to the console of one instance as a browser would; the Cookie header it then sends. */
async function consoleLogin(instance: Instance): Promise<string> {

    const cookieOf = (res: Response, name: string) => res.headers.getSetCookie().map((line) => new RegExp(`^${name}=([^;]*)`).exec(line)?.[1]).find(Boolean);
    const form = await fetch(`${instance.uri}/console/login`);
    const preLogin = cookieOf(form, 'crumb');
    expect(preLogin, 'the login page sets a CSRF cookie').to.exist();
    const res = await fetch(`${instance.uri}/console/login`, {
        method: 'POST',
        headers: { cookie: `crumb=${preLogin}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: TEST_ADMIN_TOKEN, crumb: preLogin! }).toString(),
        redirect: 'manual'
    });
    expect(res.status).to.equal(303);
    const session = cookieOf(res, 'na_console');
    expect(session).to.exist();
    return `crumb=${preLogin}; na_console=${session}`;
}

async function until<T>(what: string, probe: () => Promise<T | null>, timeoutMs: number): Promise<T> {

    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe();
        if (value !== null) {
            return value;
        }

        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }

        await new Promise((resolve) => setTimeout(resolve, 200));
    }
}

describe('several instances on one database', () => {

    const url = scratchUrl();
    const migrationCount = Fs.readdirSync(MIGRATIONS_DIR).filter((file) => file.endsWith('.ts')).length;
    let backupDir: string;
    const running: Instance[] = [];

    before(() => {

        backupDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'na-instances-'));
    });

    after({ timeout: 60_000 }, async () => {

        await Promise.all(running.map((instance) => instance.stop()));
        Fs.rmSync(backupDir, { recursive: true, force: true });
        if (!postgresOnly.skip) {
            await dropPostgresDatabase(url);
        }
    });

    const env = (extra: Record<string, string> = {}) => ({
        DATABASE_URL: url,
        ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        // The same secret on every instance: any of them validates any session.
        SESSION_SECRET: TEST_SESSION_SECRET,
        LOG_LEVEL: 'warn',
        DB_POOL_MIN: '0',
        DB_POOL_MAX: '5',
        SEED_DEMO: '1',
        BACKUP_DIR: backupDir,
        BACKUP_PG_BIN_DIR: PG_TOOL_PATH.split(':')[0]!,
        JOB_LEASE_MS: String(LEASE_MS),
        JOB_PROGRESS_INTERVAL_MS: '200',
        UPKEEP_INTERVAL_S: '1',
        ...extra
    });

    it('postgres only: three instances started at once on an empty database all come up, migrated and seeded once', { ...postgresOnly, timeout: 300_000 }, async () => {

        const knex = await freshDatabase(url);
        try {
            const instances = await startInstances(3, () => env());
            running.push(...instances);
            for (const instance of instances) {
                expect((await fetch(`${instance.uri}/health`)).status).to.equal(200);
            }

            const [{ count: migrations }] = await knex('knex_migrations').count({ count: '*' });
            expect(Number(migrations)).to.equal(migrationCount);
            const [{ count: resources }] = await knex('resources').count({ count: '*' });
            expect(Number(resources)).to.equal(300);
        }
        finally {
            await Promise.all(running.splice(0).map((instance) => instance.stop()));
            await knex.destroy();
        }
    });

    it('postgres only: two instances share jobs, refuse a second backup and fail the job of a killed instance after its lease', { ...postgresOnly, timeout: 300_000 }, async () => {

        const knex = await freshDatabase(url);
        const blocker = await knex.transaction();
        try {
            const [a, b] = await startInstances(2, () => env()) as [Instance, Instance];
            running.push(a, b);

            // A console session made on A is valid on B; logging out on B ends it on A.
            const session = await consoleLogin(a);
            const onB = await fetch(`${b.uri}/console`, { headers: { cookie: session }, redirect: 'manual' });
            expect(onB.status).to.equal(200);
            const crumb = /<meta name="csrf-token" content="([^"]+)">/.exec(await onB.text())?.[1];
            expect(crumb).to.exist();
            const logout = await fetch(`${b.uri}/console/logout`, {
                method: 'POST',
                headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
                body: new URLSearchParams({ crumb: crumb! }).toString(),
                redirect: 'manual'
            });
            expect(logout.status).to.be.within(200, 399);
            const afterLogout = await fetch(`${a.uri}/console`, { headers: { cookie: session }, redirect: 'manual' });
            expect(afterLogout.status).to.not.equal(200);

            // A backup started on A is visible on B.
            const first = await call(a, 'POST', '/backups', {});
            expect(first.status).to.equal(202);
            const done = await until('the first backup', async () => {

                const job = (await call(b, 'GET', `/backup-jobs/${first.json.job.id}`)).json;
                return job.state === 'running' ? null : job;
            }, 60_000);
            expect(done.state, done.error).to.equal('succeeded');
            expect(done.instance).to.equal(first.json.job.instance);
            expect((await call(b, 'GET', '/backup-jobs')).json.jobs.map((job: any) => job.id)).to.include(first.json.job.id);
            expect((await call(b, 'GET', '/backups')).json.backups.map((entry: any) => entry.name)).to.include(done.result.name);

            // The next backup on A waits on a table lock held here, so it is
            // still running when B is asked for another one, and when A dies.
            await blocker.raw('LOCK TABLE annotations IN ACCESS EXCLUSIVE MODE');
            const started = await call(a, 'POST', '/backups', {});
            expect(started.status).to.equal(202);
            const id = started.json.job.id;
            const seen = await call(b, 'GET', `/backup-jobs/${id}`);
            expect(seen.status).to.equal(200);
            expect(seen.json).to.include({ state: 'running', instance: started.json.job.instance });

            const second = await call(b, 'POST', '/backups', {});
            expect(second.status).to.equal(409);
            expect(second.json.message).to.contain(id);
            expect((await call(b, 'GET', '/backups')).json.job.id).to.equal(id);

            await a.kill();
            const killedAt = Date.now();
            const failed = await until('the dead instance\'s job to fail', async () => {

                const job = (await call(b, 'GET', `/backup-jobs/${id}`)).json;
                return job.state === 'running' ? null : job;
            }, 30_000);
            expect(failed.state).to.equal('failed');
            expect(failed.error).to.contain('stopped renewing its lease');
            // Not before the lease had passed (A renewed it up to its death).
            expect(Date.parse(failed.finishedAt)).to.be.at.least(Date.parse(failed.startedAt) + LEASE_MS);
            expect(Date.now() - killedAt).to.be.below(30_000);

            // The database is free again: B backs it up.
            await blocker.rollback();
            const again = await call(b, 'POST', '/backups', {});
            expect(again.status).to.equal(202);
            const finished = await until('the backup on B', async () => {

                const job = (await call(b, 'GET', `/backup-jobs/${again.json.job.id}`)).json;
                return job.state === 'running' ? null : job;
            }, 60_000);
            expect(finished.state, finished.error).to.equal('succeeded');
            expect(finished.result.name).to.not.equal(done.result.name);
        }
        finally {
            if (!blocker.isCompleted()) {
                await blocker.rollback().catch(() => {});
            }

            await Promise.all(running.splice(0).map((instance) => instance.stop()));
            await knex.destroy();
        }
    });
});
