// Browser tests of the monitoring plugin's console panels: Pool (a <meter>
// that refreshes every 2 s) and Queries (slow-query log, per-route counts),
// rendered clean under the console's CSP. Registered by test/browser/run.ts.

import { expect } from '@hapi/code';
import type * as Lab from '@hapi/lab';
import type { Browser } from 'playwright-core';

import { launchBrowser, login, newConsolePage, openPanel, screenshot, startLiveServer, type ConsolePage, type LiveServer } from './harness';

type Script = ReturnType<typeof Lab.script>;

export function monitoringPanelsSuite(lab: Script): void {

    const { describe, it, before, after, afterEach } = lab;

    describe('monitoring panels (browser)', () => {

        let live: LiveServer;
        let chromium: Browser;
        let open: ConsolePage[] = [];

        const fresh = async () => {

            const consolePage = await newConsolePage(chromium, live.baseUrl);
            open.push(consolePage);
            await login(consolePage.page);
            return consolePage;
        };

        before(async () => {

            // Every query counts as slow, so the Queries panel has rows to show.
            live = await startLiveServer({ env: { SLOW_QUERY_MS: '1' }, seed: true });
            chromium = await launchBrowser();
        });

        afterEach(async () => {

            for (const { context, errors } of open) {
                await context.close();
                // CSP violations and script errors show up here.
                expect(errors).to.equal([]);
            }

            open = [];
        });

        after(async () => {

            await chromium?.close();
            await live?.stop();
        });

        it('shows the pool with a utilization meter and refreshes it', async () => {

            const { page } = await fresh();
            const body = await openPanel(page, 'pool', 'Acquire p50 / p95');
            const meter = body.locator('meter[aria-label="Pool utilization"]');
            expect(await meter.count()).to.equal(1);
            const value = Number(await meter.getAttribute('value'));
            expect(value).to.be.within(0, 100);
            expect(await body.locator('dt', { hasText: /^In use$/ }).count()).to.equal(1);
            await screenshot(page, 'monitoring-pool');

            // refreshSeconds: 2 — the fragment is fetched again.
            const refreshed = await page.waitForResponse((response) => response.url().endsWith('/console/panels/pool'), { timeout: 6000 });
            expect(refreshed.status()).to.equal(200);
        });

        it('shows slow queries and per-route counts', async () => {

            await fetch(`${live.baseUrl}/resources?limit=2`);
            const { page } = await fresh();
            const body = await openPanel(page, 'queries', 'GET /resources');
            expect(await body.locator('table.data').count()).to.equal(2);
            expect(await body.innerText()).to.contain('Slow queries (over 1.00 ms');
            await screenshot(page, 'monitoring-queries');
        });

        it('draws the charts of the last hour with uPlot, served by this server', async () => {

            for (let i = 0; i < 5; ++i) {
                await fetch(`${live.baseUrl}/resources?limit=2`);
            }

            const { page } = await fresh();
            const body = await openPanel(page, 'charts', 'Connection pool');
            await body.locator('.charts[data-ready="true"]').waitFor({ timeout: 10_000 });
            const figures = body.locator('figure[data-chart]');
            const expected = live.database.type === 'postgres' ? ['pool', 'acquire', 'rate', 'latency', 'tps', 'cache', 'slow'] : ['pool', 'acquire', 'rate', 'latency', 'wal', 'slow'];
            expect(await figures.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-chart')))).to.equal(expected);
            // One canvas per chart, with at least the first sample in it.
            expect(await body.locator('figure[data-chart] canvas').count()).to.equal(expected.length);
            expect(Number(await figures.first().getAttribute('data-points'))).to.be.at.least(1);
            expect(await body.locator('.u-legend').first().innerText()).to.contain('in use');
            await screenshot(page, 'monitoring-charts');
        });

        it('shows the advisor with its sections and confirms an action before it runs', async () => {

            const { page } = await fresh();
            const heading = live.database.type === 'postgres' ? 'Transaction-ID wraparound' : 'Write-ahead log';
            const body = await openPanel(page, 'advisor', heading);
            const text = await body.innerText();
            if (live.database.type === 'postgres') {
                expect(text).to.contain('Query statistics');
                expect(text).to.contain('pg_stat_statements is not available');
                expect(text).to.contain('Unused');
                expect(text).to.contain('Idle in transaction');
            }
            else {
                expect(text).to.contain('Free pages');
                expect(text).to.contain('Integrity');
            }

            await screenshot(page, 'monitoring-advisor');
            // The action asks first (hx-confirm); accepting it runs it and shows the outcome.
            page.once('dialog', (dialog) => void dialog.accept());
            const button = live.database.type === 'postgres' ? body.locator('tr', { hasText: 'resources' }).first().locator('button', { hasText: 'Analyze' }) : body.locator('button', { hasText: 'Checkpoint now' });
            await button.click();
            await body.locator('.alert-success').waitFor({ timeout: 10_000 });
            expect(await body.locator('.alert-success').innerText()).to.match(live.database.type === 'postgres' ? /Analyzed resources/ : /Checkpoint done/);
        });
    });
}
