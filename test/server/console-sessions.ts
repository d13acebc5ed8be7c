import { expect } from '@hapi/code';
import type { Server } from '@hapi/hapi';
import * as Lab from '@hapi/lab';

import type { Env } from '../../server/config';
import { migrationConfig } from '../../server/db/migrations';
import { createDeployment, type Deployment } from '../helpers/deployment';
import { loginSession } from '../plugins/console/helpers';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

describe('console sessions: in the database, shared by every instance', () => {

    let deployment: Deployment;
    const instance = (env?: Env) => deployment.instance(env);

    before(async () => {

        deployment = await createDeployment();
    });

    after(async () => {

        await deployment.stop();
    });

    const overview = (server: Server, cookie: string) => server.inject({ url: '/console/panels/overview', headers: { cookie, 'hx-request': 'true' } });

    it('lets a session started on one instance work on another, and ends it on both at logout', async () => {

        const a = await instance();
        const b = await instance();
        const login = await loginSession(a);

        expect((await overview(b, login.cookie)).statusCode).to.equal(200);
        // The CSRF token is bound to the session, not to the instance that issued it.
        const csrfOnB = await b.inject({ method: 'POST', url: '/console/logout', headers: { cookie: login.cookie }, payload: { crumb: 'wrong' } });
        expect(csrfOnB.statusCode).to.equal(403);
        expect((await overview(a, login.cookie)).statusCode).to.equal(200);

        const logout = await b.inject({ method: 'POST', url: '/console/logout', headers: { cookie: login.cookie }, payload: { crumb: login.crumb } });
        expect(logout.statusCode).to.equal(303);
        expect((await overview(a, login.cookie)).statusCode).to.equal(401);
        expect((await overview(b, login.cookie)).statusCode).to.equal(401);
    });

    it('keeps a session across a restart', async () => {

        const first = await instance();
        const login = await loginSession(first);
        await deployment.stopInstance(first);

        const restarted = await instance();
        expect((await overview(restarted, login.cookie)).statusCode).to.equal(200);
    });

    it('refuses every session of an instance whose SESSION_SECRET differs (a cookie is sealed with it)', async () => {

        const a = await instance();
        const stranger = await instance({ SESSION_SECRET: 'another-secret-of-at-least-thirty-two-chars' });
        const login = await loginSession(a);
        expect((await overview(stranger, login.cookie)).statusCode).to.equal(401);
    });

    it('stores only a digest of the session id, with its expiry', async () => {

        const a = await instance();
        const login = await loginSession(a);
        const rows = await a.knex('console_sessions').select('id_hash', 'created_at', 'expires_at');
        expect(rows.length).to.be.above(0);
        const sessionIds = rows.map((row: { id_hash: string }) => row.id_hash);
        expect(sessionIds.every((hash: string) => /^[0-9a-f]{64}$/.test(hash))).to.be.true();
        expect(JSON.stringify(rows)).to.not.contain(login.session);
        const row = rows[rows.length - 1];
        const ttl = Date.parse(row.expires_at) - Date.parse(row.created_at);
        expect(ttl).to.equal(a.config.console.sessionTtlMinutes * 60_000);
    });

    it('refuses an expired session and removes it (and spent failure counters) in the upkeep', async () => {

        const a = await instance();
        const login = await loginSession(a);
        const past = new Date(Date.now() - 1000).toISOString();
        await a.knex('console_sessions').update({ expires_at: past });
        await a.knex('auth_failures').insert([
            { subject: 'address:192.0.2.1', failures: 3, window_ends_at: past },
            { subject: 'address:192.0.2.2', failures: 3, window_ends_at: new Date(Date.now() + 60_000).toISOString() }
        ]);
        expect((await overview(a, login.cookie)).statusCode).to.equal(401);

        const outcome = await a.upkeep.runOnce();
        expect(outcome['auth-cleanup']).to.equal('done');
        expect(Number((await a.knex('console_sessions').count({ n: '*' }).first())!.n)).to.equal(0);
        expect((await a.knex('auth_failures').select('subject')).map((row: { subject: string }) => row.subject)).to.equal(['address:192.0.2.2']);
    });

    it('keeps the console usable while the migrations are rolled back, so they can be applied again', async () => {

        const a = await instance();
        const login = await loginSession(a);
        await a.knex.migrate.rollback(migrationConfig, true);
        try {
            // No sessions table: the sealed cookie vouches for its session until it expires.
            const shell = await a.inject({ url: '/console', headers: { cookie: login.cookie } });
            expect(shell.statusCode).to.equal(200);
            expect(shell.payload).to.contain(`<meta name="csrf-token" content="${login.crumb}">`);
            expect((await a.inject({ url: '/console', headers: { cookie: 'na_console=forged' } })).statusCode).to.equal(302);
        }
        finally {
            await a.knex.migrate.latest(migrationConfig);
        }

        // The table came back empty: that session is gone, log in again.
        expect((await a.inject({ url: '/console', headers: { cookie: login.cookie } })).statusCode).to.equal(302);
        expect((await overview(a, (await loginSession(a)).cookie)).statusCode).to.equal(200);
    });
});
