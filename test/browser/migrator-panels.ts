// Browser tests of the migrator's panels: run pending schema migrations from
// the console, and a SQLite → PostgreSQL data migration that finishes with a
// matching report. Registered by test/browser/run.ts.

import { expect } from '@hapi/code';
import type * as Lab from '@hapi/lab';
import type { Browser } from 'playwright-core';

import { createDatabaseEngine } from '../../server/db/engine';
import { migrationConfig, migrationStatus, seedConfig } from '../../server/db/migrations';
import { dropPostgresDatabase, ensurePostgresDatabase, removeSqliteFiles, tempSqlitePath } from '../helpers/database';
import { adminHeaders } from '../helpers/server';
import { launchBrowser, login, newConsolePage, openPanel, panelBody, screenshot, startLiveServer, waitForPanel, type ConsolePage, type LiveServer } from './harness';

type Script = ReturnType<typeof Lab.script>;

const TARGET = `postgres://postgres@127.0.0.1:5432/na_browser_migration_${process.pid}`;

export function migratorPanelsSuite(lab: Script): void {

    const { describe, it, before, after } = lab;

    describe('migrator panels (browser)', () => {

        let live: LiveServer;
        let chromium: Browser;
        let consolePage: ConsolePage;
        let source: string;

        before(async () => {

            live = await startLiveServer();
            chromium = await launchBrowser();
            consolePage = await newConsolePage(chromium, live.baseUrl);

            // A SQLite library with the demo data, whatever dialect the console runs on.
            source = tempSqlitePath('browser-source');
            const engine = createDatabaseEngine(`sqlite:${source}`);
            try {
                await engine.knex.migrate.latest(migrationConfig);
                await engine.knex.seed.run(seedConfig);
            }
            finally {
                await engine.destroy();
            }

            await dropPostgresDatabase(TARGET);
            await ensurePostgresDatabase(TARGET);
        });

        after(async () => {

            await consolePage?.context.close();
            await chromium?.close();
            await live?.stop();
            removeSqliteFiles(source);
            await dropPostgresDatabase(TARGET);
        });

        it('runs pending schema migrations from the panel and shows them applied', { timeout: 120_000 }, async () => {

            const { page, errors } = consolePage;
            await login(page);

            // Make the last batch pending again through the JSON route scripts use.
            const rolled = await fetch(`${live.baseUrl}/migrator/schema/rollback`, {
                method: 'POST',
                headers: { ...adminHeaders, 'content-type': 'application/json' },
                body: JSON.stringify({ confirm: true })
            });
            expect(rolled.status).to.equal(200);
            const pending = (await migrationStatus(live.server.knex)).pending;
            expect(pending.length).to.be.above(0);

            await openPanel(page, 'schema-migrations', 'pending');
            await screenshot(page, 'schema-migrations-pending');
            await page.getByRole('button', { name: /Run latest \(\d+ pending\)/ }).click();
            await panelBody(page).getByRole('alertdialog').waitFor();
            await page.getByRole('button', { name: 'Confirm' }).click();
            await waitForPanel(page, 'schema-migrations', /Run latest \(0 pending\)/);

            const states = await panelBody(page).locator('tbody tr').allTextContents();
            for (const name of pending) {
                expect(states).to.include(`${name}applied`);
            }

            expect(await panelBody(page).getByRole('status').textContent()).to.contain(`Applied batch`);
            expect((await migrationStatus(live.server.knex)).pending).to.equal([]);
            await screenshot(page, 'schema-migrations');
            expect(errors.filter((error) => !/status of 40[013]/.test(error))).to.equal([]);
        });

        it('migrates a SQLite library into PostgreSQL and shows a matching report', { timeout: 300_000 }, async () => {

            const { page, errors } = consolePage;
            // The previous test rolled back and re-applied every migration, the
            // sessions table with them: that login is gone.
            await login(page);
            await openPanel(page, 'data-migration', 'Source URL');
            await page.locator('input[name="source"]').fill(`sqlite:${source}`);
            await page.locator('input[name="target"]').fill(TARGET);
            await page.getByRole('button', { name: 'Start migration' }).click();

            // Live progress polls every 2 s until the job ends.
            await panelBody(page).getByText(/Migration (succeeded|failed|cancelled)/).waitFor({ timeout: 240_000 });
            const status = (await panelBody(page).locator('#data-migration-status').textContent())!;
            expect(status).to.contain('Migration succeeded');
            expect(status).to.not.contain('DIFFERS');

            const rows = await panelBody(page).locator('#data-migration-status tbody tr').allTextContents();
            expect(rows.length).to.be.at.least(10);
            for (const row of rows) {
                expect(row, row).to.contain('match');
            }

            await screenshot(page, 'data-migration');

            // The report matches what is really in the target.
            const target = createDatabaseEngine(TARGET, { min: 0, max: 1 });
            try {
                const [{ n }] = await target.knex('resources').count({ n: '*' });
                expect(Number(n)).to.equal(300);
            }
            finally {
                await target.destroy();
            }

            expect(errors.filter((error) => !/status of 40[013]/.test(error))).to.equal([]);
        });
    });
}
