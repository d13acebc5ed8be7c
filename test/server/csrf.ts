import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { adminHeaders, type TestServer } from '../helpers/server';
import { probePlugin, type ProbeState } from '../browser/probe-panel';
import { createConsoleServer, loginSession, type ConsoleSession } from '../plugins/console/helpers';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

describe('csrf', () => {

    let t: TestServer;
    let login: ConsoleSession;
    const probe: ProbeState = { tickerRequests: 0, notes: [] };

    before(async () => {

        t = await createConsoleServer({ plugins: [probePlugin(probe)] });
        login = await loginSession(t.server);
    });

    after(async () => {

        await t.stop();
    });

    const post = (headers: Record<string, string>, note: string) => t.server.inject({ method: 'POST', url: '/console/panels/probe/notes', headers, payload: { note } });

    it('refuses a POST made with the session cookie but no CSRF token', async () => {

        const res = await post({ cookie: login.cookie }, 'forged');
        expect(res.statusCode).to.equal(403);
        expect(res.headers['content-type']).to.contain('text/html');
        expect(res.payload).to.contain('CSRF token is missing or out of date');
        expect(probe.notes).to.not.include('forged');
    });

    it('refuses a POST whose token is not this session\'s', async () => {

        expect((await post({ cookie: login.cookie, 'x-csrf-token': 'guessed' }, 'guessed')).statusCode).to.equal(403);
        // The pre-login token (the crumb cookie's value) is not the session's token.
        const preLogin = /crumb=([^;]+)/.exec(login.cookie)![1]!;
        expect((await post({ cookie: login.cookie, 'x-csrf-token': preLogin }, 'pre-login')).statusCode).to.equal(403);
        expect(probe.notes).to.equal([]);
    });

    it('binds the token to the session: session A\'s cookie with session B\'s crumb cookie and header is refused', async () => {

        const other = await loginSession(t.server);
        expect(other.crumb).to.not.equal(login.crumb);
        const mixed = `${other.cookie.split('; ').find((part) => part.startsWith('crumb='))}; na_console=${login.session}`;
        const res = await post({ cookie: mixed, 'x-csrf-token': other.crumb }, 'cross-session');
        expect(res.statusCode).to.equal(403);
        expect(res.payload).to.contain('CSRF token is missing or out of date');
        // The plain-form field is bound the same way.
        const logout = await t.server.inject({ method: 'POST', url: '/console/logout', headers: { cookie: mixed }, payload: { crumb: other.crumb } });
        expect(logout.statusCode).to.equal(403);
        expect(probe.notes).to.equal([]);
    });

    it('needs no CSRF cookie once logged in: the token alone, checked against the session, is enough', async () => {

        const res = await post({ cookie: `na_console=${login.session}`, 'x-csrf-token': login.crumb }, 'no-cookie');
        expect(res.statusCode).to.equal(200);
        probe.notes.length = 0;
    });

    it('accepts the token in the X-CSRF-Token header, as htmx sends it', async () => {

        const res = await post({ cookie: login.cookie, 'x-csrf-token': login.crumb, 'hx-request': 'true' }, 'from htmx');
        expect(res.statusCode).to.equal(200);
        expect(probe.notes).to.equal(['from htmx']);
    });

    it('needs no token for bearer-token calls', async () => {

        const res = await post(adminHeaders, 'scripted');
        expect(res.statusCode).to.equal(200);
        expect(probe.notes).to.equal(['from htmx', 'scripted']);
    });

    it('protects the plain logout and login forms with the hidden crumb field', async () => {

        const logout = await t.server.inject({ method: 'POST', url: '/console/logout', headers: { cookie: login.cookie }, payload: {} });
        expect(logout.statusCode).to.equal(403);

        const forgedLogin = await t.server.inject({ method: 'POST', url: '/console/login', payload: { token: t.config.adminToken } });
        expect(forgedLogin.statusCode).to.equal(403);
        expect(forgedLogin.headers['set-cookie'] ?? []).to.not.contain('na_console');
    });

    it('leaves routes that a session does not unlock alone (the public REST API)', async () => {

        const res = await t.server.inject({ method: 'POST', url: '/resources', headers: { cookie: login.cookie }, payload: { title: 'Posted by a logged-in browser' } });
        expect(res.statusCode).to.equal(201);
    });
});
