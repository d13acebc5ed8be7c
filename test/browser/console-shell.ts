// Browser tests of the console shell: login, the Overview and Search tryout
// panels, polling, CSRF, logout, phone layout. Registered by test/browser/run.ts.

import { expect } from '@hapi/code';
import type * as Lab from '@hapi/lab';
import type { Browser } from 'playwright-core';

import {
    csrfToken,
    fetchFromPage,
    launchBrowser,
    layoutProblems,
    login,
    newConsolePage,
    openPanel,
    panelBody,
    screenshot,
    setVisibility,
    startLiveServer,
    waitForPanel,
    type ConsolePage,
    type LiveServer
} from './harness';
import { probePlugin, type ProbeState } from './probe-panel';

type Script = ReturnType<typeof Lab.script>;

export function consoleShellSuite(lab: Script): void {

    const { describe, it, before, after, afterEach } = lab;

    describe('console shell (browser)', () => {

        let live: LiveServer;
        let chromium: Browser;
        let open: ConsolePage[] = [];
        const probe: ProbeState = { tickerRequests: 0, hourlyRequests: 0, notes: [] };

        const fresh = async (viewport?: { width: number; height: number }) => {

            const consolePage = await newConsolePage(chromium, live.baseUrl, viewport);
            open.push(consolePage);
            return consolePage;
        };

        before(async () => {

            live = await startLiveServer({ plugins: [probePlugin(probe)] });
            chromium = await launchBrowser();
        });

        afterEach(async () => {

            for (const { context, errors } of open) {
                await context.close();
                // CSP violations and script errors show up here: the console must run clean.
                expect(errors.filter((error) => !/status of 40[13]/.test(error))).to.equal([]);
            }

            open = [];
        });

        after(async () => {

            await chromium?.close();
            await live?.stop();
        });

        it('serves the login page without a token and sends console pages there', async () => {

            const { page } = await fresh();
            const response = await page.goto('/console/overview');
            expect(response!.status()).to.equal(200);
            expect(new URL(page.url()).pathname).to.equal('/console/login');
            expect(new URL(page.url()).searchParams.get('next')).to.equal('/console/overview');
            await page.locator('#token').waitFor();
            expect(await page.title()).to.contain('Log in');
            await screenshot(page, 'login');

            const fragment = await page.request.get('/console/panels/overview', { maxRedirects: 0 });
            expect(fragment.status()).to.equal(302);
            const json = await page.request.get('/ops/overview');
            expect(json.status()).to.equal(401);
        });

        it('refuses a wrong token and logs in with the right one, back to the page asked for', async () => {

            const { page, context } = await fresh();
            await page.goto('/console/login?next=/console/search');
            await page.fill('#token', 'not-the-admin-token-at-all');
            await page.click('.login-card button[type="submit"]');
            await page.locator('.alert-error').filter({ hasText: 'not the admin token' }).waitFor();
            expect(await page.locator('#token').inputValue()).to.equal('');

            await page.fill('#token', live.config.adminToken!);
            await Promise.all([page.waitForURL('**/console/search'), page.click('.login-card button[type="submit"]')]);
            await waitForPanel(page, 'search');

            const cookies = await context.cookies();
            const session = cookies.find((cookie) => cookie.name === 'na_console')!;
            expect(session.httpOnly).to.be.true();
            expect(session.sameSite).to.equal('Strict');
            expect(session.value).to.not.contain(live.config.adminToken!);
            expect(await page.content()).to.not.contain(live.config.adminToken!);
        });

        it('shows the overview panel with the dialect, version, redacted target and health', async () => {

            const { page } = await fresh();
            await login(page);
            expect(new URL(page.url()).pathname).to.equal('/console');
            const body = await waitForPanel(page, 'overview', 'Dialect');
            const text = await body.innerText();
            expect(text).to.contain(live.server.db.type);
            expect(text).to.contain(live.server.db.type === 'postgres' ? 'PostgreSQL ' : 'SQLite ');
            expect(text).to.contain(live.server.db.target);
            expect(text).to.contain('healthy');
            expect(text).to.match(/Database size\s+[\d.]+ (B|KiB|MiB|GiB)/i);
            expect(await page.locator('nav.sidenav a[aria-current="page"]').innerText()).to.equal('Overview');
            // A plugin's panel title is escaped in the navigation, not parsed as markup.
            expect(await page.locator('nav.sidenav').innerText()).to.contain('Probe <test>');
            await screenshot(page, 'overview');
            expect(await layoutProblems(page)).to.equal([]);
        });

        it('shows ranked search results with highlighted snippets in the search tryout panel', async () => {

            // The search plugin of the dialect is always loaded: give it something to find.
            for (const [title, description] of [
                ['The library of Alexandria', 'Scrolls, scholars and the great library of the ancient world.'],
                ['Lighthouses', 'The Pharos stood near the library harbour.'],
                ['Papyrus making', 'How reeds became the writing material of antiquity.']
            ]) {
                const created = await live.server.inject({ method: 'POST', url: '/resources', payload: { title, description } });
                expect(created.statusCode).to.equal(201);
            }

            const { page } = await fresh();
            await login(page);
            const body = await openPanel(page, 'search');
            await body.locator('#search-q').fill('library');
            await body.locator('button[type="submit"]').click();
            const results = page.locator('#search-results');
            await results.filter({ hasText: /2 results \(1–2\) for/ }).waitFor();
            const text = await results.innerText();
            // Title matches rank above description-only matches.
            expect(text.indexOf('The library of Alexandria')).to.be.below(text.indexOf('Lighthouses'));
            expect(await results.locator('mark').count()).to.be.at.least(2);
            expect(await results.locator('mark').first().innerText()).to.match(/^library$/i);
            await screenshot(page, 'search-tryout');
            expect(await layoutProblems(page)).to.equal([]);
        });

        it('polls a panel every refreshSeconds while visible and pauses while the tab is hidden', async () => {

            const { page } = await fresh();
            await login(page);
            await openPanel(page, 'ticker', 'Tick');
            const start = probe.tickerRequests;
            await page.waitForTimeout(2600);
            const visibleTicks = probe.tickerRequests - start;
            expect(visibleTicks).to.be.within(1, 4);

            await setVisibility(page, 'hidden');
            await page.waitForTimeout(300);                 // Let a tick already in flight land.
            const hiddenStart = probe.tickerRequests;
            await page.waitForTimeout(2600);
            expect(probe.tickerRequests).to.equal(hiddenStart);
            expect(await page.locator('.refresh-note').innerText()).to.contain('paused');

            // The Refresh button works while polling is paused.
            await page.click('button[data-refresh-target="#panel-body"]');
            await page.locator('#tick').filter({ hasText: String(hiddenStart + 1) }).waitFor();

            await setVisibility(page, 'visible');
            await page.waitForTimeout(2600);
            expect(probe.tickerRequests - (hiddenStart + 1)).to.be.within(1, 4);
            await screenshot(page, 'ticker');
        });

        it('refreshes a panel at once when its tab is shown again', async () => {

            const { page } = await fresh();
            await login(page);
            await openPanel(page, 'hourly', 'Hourly');
            const loaded = probe.hourlyRequests!;
            await setVisibility(page, 'hidden');
            await page.waitForTimeout(500);
            expect(probe.hourlyRequests).to.equal(loaded);

            // The next timed refresh is an hour away: a new request now comes from being shown.
            await setVisibility(page, 'visible');
            await page.locator('#hourly').filter({ hasText: String(loaded + 1) }).waitFor({ timeout: 10_000 });
        });

        it('sends the CSRF token with htmx actions and refuses a forged POST without it', async () => {

            const { page } = await fresh();
            await login(page);
            const body = await openPanel(page, 'probe');
            await body.locator('#probe-note').fill('<b>from htmx</b>');
            await body.locator('button[type="submit"]').click();
            await page.locator('#probe-result .alert-success').waitFor();
            expect(await page.locator('#probe-result').innerText()).to.contain('Saved note <b>from htmx</b>');
            expect(probe.notes).to.equal(['<b>from htmx</b>']);

            // Same session cookie, no token: what a forged cross-site form would send.
            const formBody = 'note=forged';
            const headers = { 'content-type': 'application/x-www-form-urlencoded' };
            const forged = await fetchFromPage(page, '/console/panels/probe/notes', { method: 'POST', headers, body: formBody });
            expect(forged.status).to.equal(403);
            expect(forged.body).to.contain('CSRF');

            const wrong = await fetchFromPage(page, '/console/panels/probe/notes', { method: 'POST', headers: { ...headers, 'x-csrf-token': 'guessed' }, body: formBody });
            expect(wrong.status).to.equal(403);

            const logoutWithoutToken = await fetchFromPage(page, '/console/logout', { method: 'POST', headers, body: '' });
            expect(logoutWithoutToken.status).to.equal(403);
            expect(probe.notes).to.equal(['<b>from htmx</b>']);

            // The right token from the page works, so the refusals above were about the token alone.
            const token = await csrfToken(page);
            const allowed = await fetchFromPage(page, '/console/panels/probe/notes', { method: 'POST', headers: { ...headers, 'x-csrf-token': token! }, body: 'note=scripted' });
            expect(allowed.status).to.equal(200);
            expect(probe.notes).to.equal(['<b>from htmx</b>', 'scripted']);
            await screenshot(page, 'probe');
            expect(await layoutProblems(page)).to.equal([]);
        });

        it('logs out: the session ends and console pages go back to the login form', async () => {

            const { page } = await fresh();
            await login(page);
            await waitForPanel(page, 'overview');
            await Promise.all([page.waitForURL('**/console/login?loggedout=1'), page.click('form.logout button')]);
            await page.locator('.alert-success').filter({ hasText: 'logged out' }).waitFor();

            await page.goto('/console/overview');
            expect(new URL(page.url()).pathname).to.equal('/console/login');
            const fragment = await page.request.get('/console/panels/overview', { maxRedirects: 0 });
            expect(fragment.status()).to.equal(302);
        });

        it('sends an open panel to the login form when the session ends under it', async () => {

            const { page, context } = await fresh();
            await login(page);
            await openPanel(page, 'ticker', 'Tick');
            await context.clearCookies();
            await page.waitForURL('**/console/login?next=%2Fconsole%2Fticker', { timeout: 5000 });
            await page.locator('#token').waitFor();
        });

        it('fits a phone screen: navigation scrolls sideways, the page does not', async () => {

            const { page } = await fresh({ width: 390, height: 844 });
            await login(page);
            await waitForPanel(page, 'overview', 'Dialect');
            const overflow = await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth - (globalThis as any).innerWidth);
            expect(overflow).to.be.at.most(0);
            const navDirection = await page.evaluate(() => (globalThis as any).getComputedStyle((globalThis as any).document.querySelector('.sidenav ul')).display);
            expect(navDirection).to.equal('flex');
            expect(await panelBody(page).isVisible()).to.be.true();
            await screenshot(page, 'overview-phone');
        });
    });
}
