import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { ADMIN_DISABLED_MESSAGE, ADMIN_STRATEGY, tokenMatches } from '../../server/auth';
import { adminHeaders, TEST_ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { createConsoleServer, loginSession } from '../plugins/console/helpers';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

// A route like every plugin's JSON ops routes: auth ADMIN_STRATEGY, nothing else.
const whoAmI = {
    name: 'test-whoami',
    register(server: any) {

        server.route({
            method: 'GET',
            path: '/ops/test-whoami',
            options: { auth: ADMIN_STRATEGY, handler: (request: any) => request.auth.credentials }
        });
    }
};

describe('auth: the admin strategy', () => {

    let t: TestServer;

    before(async () => {

        t = await createConsoleServer({ plugins: [whoAmI] });
    });

    after(async () => {

        await t.stop();
    });

    it('compares tokens in constant time and exactly', () => {

        expect(tokenMatches(TEST_ADMIN_TOKEN, TEST_ADMIN_TOKEN)).to.be.true();
        expect(tokenMatches(`${TEST_ADMIN_TOKEN}x`, TEST_ADMIN_TOKEN)).to.be.false();
        expect(tokenMatches('', TEST_ADMIN_TOKEN)).to.be.false();
    });

    it('accepts the bearer token', async () => {

        const res = await t.server.inject({ url: '/ops/test-whoami', headers: adminHeaders });
        expect(res.statusCode).to.equal(200);
        expect(res.result).to.equal({ role: 'admin', via: 'bearer' });
    });

    it('refuses a missing, malformed or wrong bearer token with 401 and a hint', async () => {

        const missing = await t.server.inject('/ops/test-whoami');
        expect(missing.statusCode).to.equal(401);
        expect(JSON.parse(missing.payload).message).to.contain('Authorization: Bearer');
        expect(missing.headers['www-authenticate']).to.contain('Bearer');

        const malformed = await t.server.inject({ url: '/ops/test-whoami', headers: { authorization: `Token ${TEST_ADMIN_TOKEN}` } });
        expect(malformed.statusCode).to.equal(401);

        const wrong = await t.server.inject({ url: '/ops/test-whoami', headers: { authorization: 'Bearer wrong-token-0123456789' } });
        expect(wrong.statusCode).to.equal(401);
        expect(JSON.parse(wrong.payload).message).to.equal('Invalid admin token');
        expect(wrong.payload).to.not.contain(TEST_ADMIN_TOKEN);
    });

    it('accepts a console login session on the same routes', async () => {

        const { cookie } = await loginSession(t.server);
        const res = await t.server.inject({ url: '/ops/test-whoami', headers: { cookie } });
        expect(res.statusCode).to.equal(200);
        expect(res.result).to.include({ role: 'admin', via: 'session' });
        expect((res.result as { sessionId: string }).sessionId).to.match(/^[\w-]{40,}$/);
    });

    it('lets a wrong bearer token fail even when a valid session cookie comes with it', async () => {

        const { cookie } = await loginSession(t.server);
        const res = await t.server.inject({ url: '/ops/test-whoami', headers: { cookie, authorization: 'Bearer wrong-token-0123456789' } });
        expect(res.statusCode).to.equal(401);
    });

    it('refuses a forged or tampered session cookie', async () => {

        const { session } = await loginSession(t.server);
        const forged = await t.server.inject({ url: '/ops/test-whoami', headers: { cookie: 'na_console=not-a-sealed-cookie' } });
        expect(forged.statusCode).to.equal(401);

        const tampered = `${session.slice(0, -4)}AAAA`;
        const res = await t.server.inject({ url: '/ops/test-whoami', headers: { cookie: `na_console=${tampered}` } });
        expect(res.statusCode).to.equal(401);
    });

    it('ends the session for good on logout, even for a copy of the cookie', async () => {

        const { cookie, crumb } = await loginSession(t.server);
        const logout = await t.server.inject({ method: 'POST', url: '/console/logout', headers: { cookie }, payload: { crumb } });
        expect(logout.statusCode).to.equal(303);
        expect(String(logout.headers['set-cookie'])).to.contain('na_console=;');

        const replay = await t.server.inject({ url: '/ops/test-whoami', headers: { cookie } });
        expect(replay.statusCode).to.equal(401);
        expect(JSON.parse(replay.payload).message).to.contain('session has expired or was ended');
    });

    it('keeps every ops route closed with a how-to message when no token is configured', async () => {

        const closed = await createConsoleServer({ env: { NODE_ENV: 'production', ADMIN_TOKEN: '' }, plugins: [whoAmI] });
        try {
            expect(closed.config.adminToken).to.be.null();
            const res = await closed.server.inject({ url: '/ops/test-whoami', headers: adminHeaders });
            expect(res.statusCode).to.equal(403);
            expect(JSON.parse(res.payload).message).to.equal(ADMIN_DISABLED_MESSAGE);
            expect(closed.server.adminTokenConfigured()).to.be.false();
            expect(closed.server.verifyAdminToken(TEST_ADMIN_TOKEN)).to.be.false();
        }
        finally {
            await closed.stop();
        }
    });
});
