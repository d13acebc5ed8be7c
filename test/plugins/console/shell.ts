import { expect } from '@hapi/code';
import type { Server } from '@hapi/hapi';
import * as Lab from '@hapi/lab';

import { ADMIN_DISABLED_MESSAGE, ADMIN_STRATEGY } from '../../../server/auth';
import { loadConfig } from '../../../server/config';
import { adminStartupNotes } from '../../../server/index';
import { CONTENT_SECURITY_POLICY, safeNext } from '../../../plugins/console/responses';
import { adminHeaders, TEST_ADMIN_TOKEN, TEST_SESSION_SECRET, type TestServer } from '../../helpers/server';
import { probePlugin } from '../../browser/probe-panel';
import { cookieValue, createConsoleServer, loginSession, type ConsoleSession } from './helpers';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

describe('console: shell, login and logout', () => {

    let t: TestServer;
    let login: ConsoleSession;

    before(async () => {

        t = await createConsoleServer({ plugins: [probePlugin({ tickerRequests: 0, notes: [] })] });
        login = await loginSession(t.server);
    });

    after(async () => {

        await t.stop();
    });

    it('serves the login form without a token, with a CSRF cookie and field and secure headers', async () => {

        const res = await t.server.inject('/console/login');
        expect(res.statusCode).to.equal(200);
        expect(res.headers['content-type']).to.equal('text/html; charset=utf-8');
        const crumb = cookieValue(res, 'crumb');
        expect(crumb).to.match(/^[\w-]{43}$/);
        expect(String(res.headers['set-cookie'])).to.contain('HttpOnly').and.to.contain('SameSite=Strict');
        expect(res.payload).to.contain(`<input type="hidden" name="crumb" value="${crumb}">`);
        expect(res.payload).to.contain('<input id="token" name="token" type="password"');
        expect(res.headers['content-security-policy']).to.equal(CONTENT_SECURITY_POLICY);
        expect(res.headers['x-frame-options']).to.equal('DENY');
        expect(res.headers['cache-control']).to.equal('no-store');
    });

    it('sends console pages to the login form and keeps where to come back', async () => {

        const shell = await t.server.inject('/console');
        expect(shell.statusCode).to.equal(302);
        expect(shell.headers.location).to.equal('/console/login');

        const panel = await t.server.inject('/console/probe');
        expect(panel.headers.location).to.equal('/console/login?next=%2Fconsole%2Fprobe');

        const fragment = await t.server.inject({ url: '/console/panels/overview', headers: { 'hx-request': 'true', 'hx-current-url': 'http://localhost/console/overview' } });
        expect(fragment.statusCode).to.equal(401);
        expect(fragment.headers['hx-redirect']).to.equal('/console/login?next=%2Fconsole%2Foverview');
        expect(fragment.payload).to.contain('class="alert');
    });

    it('only returns to console pages after login (no open redirect)', () => {

        expect(safeNext('/console/pool')).to.equal('/console/pool');
        expect(safeNext('/console')).to.equal('/console');
        for (const next of ['//evil.example', 'https://evil.example/console', '/console/../admin', '/console/pool?x=1', '/consoleevil', '/console/panels/x', 42]) {
            expect(safeNext(next), String(next)).to.be.undefined();
        }
    });

    it('refuses a wrong token with the form again, and an empty one with 400', async () => {

        const page = await t.server.inject('/console/login');
        const crumb = cookieValue(page, 'crumb')!;
        const headers = { cookie: `crumb=${crumb}` };

        const wrong = await t.server.inject({ method: 'POST', url: '/console/login', headers, payload: { token: 'wrong-token-0123456789', crumb } });
        expect(wrong.statusCode).to.equal(401);
        expect(wrong.payload).to.contain('That is not the admin token of this server.');
        expect(cookieValue(wrong, 'na_console')).to.be.null();
        expect(wrong.payload).to.not.contain('wrong-token-0123456789');

        const empty = await t.server.inject({ method: 'POST', url: '/console/login', headers, payload: { token: '', crumb } });
        expect(empty.statusCode).to.equal(400);
        expect(empty.payload).to.contain('Enter the admin token.');
    });

    it('logs in to the page asked for, never off-site', async () => {

        const page = await t.server.inject('/console/login');
        const crumb = cookieValue(page, 'crumb')!;
        const headers = { cookie: `crumb=${crumb}` };
        const back = await t.server.inject({ method: 'POST', url: '/console/login', headers, payload: { token: TEST_ADMIN_TOKEN, crumb, next: '/console/search' } });
        expect(back.statusCode).to.equal(303);
        expect(back.headers.location).to.equal('/console/search');
        expect(String(back.headers['set-cookie'])).to.match(/na_console=Fe26\.2\*\*[^;]+; Max-Age=28800; .*HttpOnly; SameSite=Strict; Path=\//);

        const away = await t.server.inject({ method: 'POST', url: '/console/login', headers, payload: { token: TEST_ADMIN_TOKEN, crumb, next: '//evil.example' } });
        expect(away.headers.location).to.equal('/console');
    });

    it('renders the shell: navigation from the collected panels, escaped, and the panel wired to htmx', async () => {

        const res = await t.server.inject({ url: '/console', headers: { cookie: login.cookie } });
        expect(res.statusCode).to.equal(200);
        const page = res.payload;
        expect(page).to.contain(`<meta name="csrf-token" content="${login.crumb}">`);
        expect(page).to.contain('<script src="/console/assets/htmx.min.js" defer></script>');
        expect(page).to.contain('<li><a href="/console/overview" aria-current="page">Overview</a></li>');
        expect(page).to.contain('<li><a href="/console/probe">Probe &lt;test&gt;</a></li>');
        expect(page).to.not.contain('Probe <test>');
        expect(page).to.contain('hx-get="/console/panels/overview" hx-trigger="load, console:refresh" data-refresh-seconds="10"');
        expect(page).to.not.contain(TEST_ADMIN_TOKEN);
        expect(page.indexOf('Overview')).to.be.below(page.indexOf('Search tryout'));

        const ticker = await t.server.inject({ url: '/console/ticker', headers: { cookie: login.cookie } });
        expect(ticker.payload).to.contain('Refreshes every 1 s, paused while this tab is hidden');
        expect(ticker.payload).to.contain('<li><a href="/console/ticker" aria-current="page">Ticker</a></li>');
    });

    it('skips the login form for a browser that is already logged in', async () => {

        const res = await t.server.inject({ url: '/console/login?next=/console/ticker', headers: { cookie: login.cookie } });
        expect(res.statusCode).to.equal(302);
        expect(res.headers.location).to.equal('/console/ticker');
    });

    it('answers an unknown panel with a 404 page, and htmx errors with a fragment', async () => {

        const missing = await t.server.inject({ url: '/console/nope', headers: { cookie: login.cookie } });
        expect(missing.statusCode).to.equal(404);
        expect(missing.headers['content-type']).to.contain('text/html');
        expect(missing.payload).to.contain('There is no console panel &quot;nope&quot;');

        const invalid = await t.server.inject({ url: '/console/panels/search/results?q=', headers: { cookie: login.cookie, 'hx-request': 'true' } });
        expect(invalid.statusCode).to.equal(400);
        expect(invalid.payload).to.startWith('<div class="alert alert-warning" role="alert"><strong>400</strong>');
    });

    it('serves htmx from node_modules and the console assets, and nothing else from disk', async () => {

        const htmx = await t.server.inject('/console/assets/htmx.min.js');
        expect(htmx.statusCode).to.equal(200);
        expect(htmx.headers['content-type']).to.contain('javascript');
        expect(htmx.payload).to.contain('4.0.1');

        const css = await t.server.inject('/console/assets/console.css');
        expect(css.statusCode).to.equal(200);
        expect(css.headers['content-type']).to.contain('text/css');

        const js = await t.server.inject('/console/assets/console.js');
        expect(js.payload).to.contain('X-CSRF-Token');

        for (const url of ['/console/assets/..%2F..%2Fpackage.json', '/console/assets/missing.css', '/console/assets/.env']) {
            const res = await t.server.inject(url);
            expect(res.statusCode, url).to.be.within(400, 404);
        }
    });

    it('logs out to the login form with a note', async () => {

        const session = await loginSession(t.server);
        const res = await t.server.inject({ method: 'POST', url: '/console/logout', headers: { cookie: session.cookie }, payload: { crumb: session.crumb } });
        expect(res.statusCode).to.equal(303);
        expect(res.headers.location).to.equal('/console/login?loggedout=1');
        const page = await t.server.inject({ url: String(res.headers.location), headers: { cookie: `crumb=${session.crumb}` } });
        expect(page.payload).to.contain('You are logged out.');
    });
});

describe('console: switched off', () => {

    it('serves no console and accepts only the bearer token on ops routes', async () => {

        const opsRoute = {
            name: 'test-ops-route',
            register(server: Server) {

                server.route({ method: 'GET', path: '/ops/test-ping', options: { auth: ADMIN_STRATEGY, handler: () => 'pong' } });
            }
        };
        const on = await createConsoleServer();
        const off = await createConsoleServer({ env: { ENABLE_CONSOLE: '0' }, plugins: [opsRoute] });
        try {
            const { cookie } = await loginSession(on.server);
            expect((await off.server.inject('/console')).statusCode).to.equal(404);
            expect((await off.server.inject('/console/login')).statusCode).to.equal(404);
            expect(off.server.decorations.server).to.not.include('adminSessions');
            // A session cookie from a console elsewhere means nothing here; the bearer token works.
            expect((await off.server.inject({ url: '/ops/test-ping', headers: { cookie } })).statusCode).to.equal(401);
            expect((await off.server.inject({ url: '/ops/test-ping', headers: adminHeaders })).payload).to.equal('pong');
        }
        finally {
            await off.stop();
            await on.stop();
        }
    });
});

describe('console: without an admin token', () => {

    it('is disabled in production, and says how to enable it', async () => {

        const t = await createConsoleServer({ env: { NODE_ENV: 'production', ADMIN_TOKEN: '' } });
        try {
            for (const url of ['/console', '/console/login', '/console/overview']) {
                const res = await t.server.inject(url);
                expect(res.statusCode, url).to.equal(403);
                expect(res.payload).to.contain(ADMIN_DISABLED_MESSAGE);
                expect(res.payload).to.not.contain('name="token"');
            }

            const login = await t.server.inject({ method: 'POST', url: '/console/login', payload: { token: 'anything-at-all-12345' } });
            expect(login.statusCode).to.equal(403);

            const panel = await t.server.inject({ url: '/console/panels/overview', headers: adminHeaders });
            expect(panel.statusCode).to.equal(403);
            expect(panel.payload).to.contain('ADMIN_TOKEN is not set');

            expect((t.server.plugins as any).console.panels()).to.equal([]);
        }
        finally {
            await t.stop();
        }
    });

    it('says so at start-up; development generates a token and prints it once', () => {

        const production = loadConfig({ NODE_ENV: 'production' });
        expect(production.adminToken).to.be.null();
        expect(adminStartupNotes(production, 'http://h:1')).to.equal([
            'Ops console and ops routes are disabled: ADMIN_TOKEN is not set (required in production). Set ADMIN_TOKEN (16+ characters) and restart to enable them.'
        ]);

        const development = loadConfig({ NODE_ENV: 'development' });
        const again = loadConfig({ NODE_ENV: 'development' });
        expect(development.adminTokenSource).to.equal('generated');
        expect(development.adminToken).to.match(/^[\w-]{32}$/);
        expect(development.adminToken).to.not.equal(again.adminToken);
        expect(adminStartupNotes(development, 'http://h:1')).to.equal([
            'Ops console: http://h:1/console',
            `Admin token generated for this development run (set ADMIN_TOKEN to choose your own): ${development.adminToken}`,
            `Session secret generated for this development run (set SESSION_SECRET to keep console logins across restarts): ${development.auth.sessionSecret}`
        ]);

        const configured = loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: TEST_ADMIN_TOKEN, SESSION_SECRET: TEST_SESSION_SECRET, ENABLE_CONSOLE: '0' });
        expect(configured.adminTokenSource).to.equal('env');
        expect(adminStartupNotes(configured, 'http://h:1')).to.equal([]);
        expect(loadConfig({ NODE_ENV: 'test' }).adminToken).to.be.null();
    });

    it('reads the console cookie settings from the environment', () => {

        expect(loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: TEST_ADMIN_TOKEN, SESSION_SECRET: TEST_SESSION_SECRET }).console).to.equal({ sessionTtlMinutes: 480, secureCookies: true });
        expect(loadConfig({ CONSOLE_SESSION_TTL_MIN: '30', CONSOLE_SECURE_COOKIES: 'on' }).console).to.equal({ sessionTtlMinutes: 30, secureCookies: true });
        expect(loadConfig({}).console.secureCookies).to.be.false();
        expect(() => loadConfig({ CONSOLE_SESSION_TTL_MIN: '0' })).to.throw(/CONSOLE_SESSION_TTL_MIN/);
    });
});
