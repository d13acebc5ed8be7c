// Browser tests of the monitoring plugin's console panels: Pool (a <meter>
// that refreshes every 2 s) and Queries (slow-query log, per-route counts),
// rendered clean under the console's CSP. Registered by test/browser/run.ts.

import { expect } from '@hapi/code';
import type * as Lab from '@hapi/lab';
import type { Browser } from 'playwright-core';

import { formatBytes } from '../../server/console/format';
import { sqliteFileSizes } from '../../server/db/dialects/sqlite';
import { adminHeaders } from '../helpers/server';
import { launchBrowser, layoutProblems, login, newConsolePage, openPanel, screenshot, startLiveServer, waitForPanel, type ConsolePage, type LiveServer } from './harness';

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
            expect(await layoutProblems(page)).to.equal([]);

            // refreshSeconds: 2 — the fragment is fetched again.
            const refreshed = await page.waitForResponse((response) => response.url().endsWith('/console/panels/pool'), { timeout: 6000 });
            expect(refreshed.status()).to.equal(200);
        });

        it('shows slow queries and per-route counts, transactions counted for their route', async () => {

            const list = await (await fetch(`${live.baseUrl}/resources?limit=2`)).json() as { items: Array<{ id: string }> };
            const collections = await (await fetch(`${live.baseUrl}/collections?limit=1`)).json() as { items: Array<{ id: string }> };
            // Both run their statements in a transaction the model opens.
            for (const [url, payload] of [[`/resources/${list.items[0]!.id}`, { title: 'Patched from the browser test' }], [`/collections/${collections.items[0]!.id}`, { description: 'Patched' }]] as const) {
                const res = await fetch(`${live.baseUrl}${url}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
                expect(res.status, url).to.equal(200);
            }

            const { page } = await fresh();
            const body = await openPanel(page, 'queries', 'PATCH /collections/{id}');
            expect(await body.locator('table.data').count()).to.equal(2);
            expect(await body.innerText()).to.contain('Slow queries (over 1.00 ms');
            const perRoute = await body.locator('table.data').nth(1).locator('tbody tr').evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent!.trim())));
            for (const route of ['PATCH /resources/{id}', 'PATCH /collections/{id}']) {
                const cells = perRoute.find((row) => row[0] === route) ?? [];
                // Route, requests, queries: the locked read, the update and the read-back.
                expect(cells[1], route).to.equal('1');
                expect(Number(cells[2]), route).to.be.at.least(3);
            }

            // A long statement stays in a scrolling box instead of stretching the page.
            const tallest = await body.locator('code.sql').evaluateAll((codes) => Math.max(...codes.map((code) => code.getBoundingClientRect().height)));
            expect(tallest).to.be.below(200);
            await screenshot(page, 'monitoring-queries');
            expect(await layoutProblems(page)).to.equal([]);
        });

        it('shows the whole database size on the Overview and Pool panels (SQLite: file + WAL + shared memory)', async () => {

            const { knex } = live.server;
            const filename = live.server.db.type === 'sqlite' ? (knex.client.config.connection as { filename: string }).filename : null;
            const measure = async () => (filename ? sqliteFileSizes(filename).total : await live.server.db.dialect.databaseSize(knex));
            // A write between the page's figure and ours would move it: read until both sides agree.
            const agreed = async (read: () => Promise<string>) => {

                for (let attempt = 0; ; ++attempt) {
                    const before = await measure();
                    const shown = await read();
                    if (before === await measure() || attempt === 3) {
                        return { expected: before, shown };
                    }
                }
            };

            // The seeded library was written moments ago: on SQLite most of it is still in the WAL.
            expect(await measure()).to.be.above(1_000_000);
            if (filename) {
                expect(sqliteFileSizes(filename).wal).to.be.above(0);
            }

            const { page } = await fresh();
            await openPanel(page, 'overview', 'Database size');
            const fact = (name: string) => async () => {

                await Promise.all([
                    page.waitForResponse((response) => response.url().includes('/console/panels/')),
                    page.click('button[data-refresh-target="#panel-body"]')
                ]);
                await waitForPanel(page, (await page.locator('#panel-body').getAttribute('data-panel'))!);
                return await page.locator('#panel-body .fact', { hasText: name }).locator('dd').innerText();
            };

            const onOverview = await agreed(fact('Database size'));
            expect(onOverview.shown).to.equal(formatBytes(onOverview.expected));
            const inMetrics = await agreed(async () => await (await fetch(`${live.baseUrl}/metrics`, { headers: adminHeaders })).text());
            expect(inMetrics.shown).to.match(new RegExp(`^na_db_size_bytes ${inMetrics.expected}$`, 'm'));
            await screenshot(page, 'overview-size');

            await openPanel(page, 'pool', 'Database size');
            const onPool = await agreed(fact('Database size'));
            expect(onPool.shown.startsWith(formatBytes(onPool.expected)), onPool.shown).to.be.true();
            if (filename) {
                expect(onPool.shown).to.match(/file .+ \+ WAL .+ \+ shm .+/);
            }
        });

        it('draws the charts of the last hour with uPlot, served by this server', async () => {

            for (let i = 0; i < 5; ++i) {
                await fetch(`${live.baseUrl}/resources?limit=2`);
            }

            const { page } = await fresh();
            const body = await openPanel(page, 'charts', 'Connection pool');
            await body.locator('.charts[data-ready="true"]').waitFor({ timeout: 10_000 });
            const figures = body.locator('figure[data-chart]');
            const expected = live.database.type === 'postgres' ? ['pool', 'acquire', 'rate', 'latency', 'tps', 'cache', 'slow'] : ['pool', 'acquire', 'rate', 'latency', 'wal', 'busy', 'slow'];
            expect(await figures.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-chart')))).to.equal(expected);
            // One canvas per chart, with at least the first sample in it.
            expect(await body.locator('figure[data-chart] canvas').count()).to.equal(expected.length);
            expect(Number(await figures.first().getAttribute('data-points'))).to.be.at.least(1);
            expect(await body.locator('.u-legend').first().innerText()).to.match(/in use/i);
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
            const button = live.database.type === 'postgres' ? body.locator('tr').filter({ has: page.locator('td', { hasText: /^resources$/ }) }).locator('button', { hasText: 'Analyze' }) : body.locator('button', { hasText: 'Checkpoint now' });
            await button.click();
            await body.locator('.alert-success').waitFor({ timeout: 10_000 });
            expect(await body.locator('.alert-success').innerText()).to.match(live.database.type === 'postgres' ? /Analyzed resources/ : /Checkpoint done/);
        });
    });
}
