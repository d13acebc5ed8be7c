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
import { launchBrowser, layoutProblems, login, newConsolePage, openPanel, panelBody, screenshot, startLiveServer, waitForPanel, type ConsolePage, type LiveServer } from './harness';

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
            expect(await layoutProblems(page)).to.equal([]);
            await page.getByRole('button', { name: /Run latest \(\d+ pending\)/ }).click();
            await panelBody(page).getByRole('alertdialog').waitFor();
            await screenshot(page, 'schema-migrations-confirm');
            expect(await layoutProblems(page)).to.equal([]);
            await page.getByRole('button', { name: 'Confirm' }).click();
            await waitForPanel(page, 'schema-migrations', /Run latest \(0 pending\)/);

            const states = await panelBody(page).locator('tbody tr').allTextContents();
            for (const name of pending) {
                expect(states).to.include(`${name}applied`);
            }

            expect(await panelBody(page).getByRole('status').textContent()).to.contain(`Applied batch`);
            expect((await migrationStatus(live.server.knex)).pending).to.equal([]);
            // Nothing left to apply; the applied batch can be rolled back again.
            expect(await page.getByRole('button', { name: 'Run latest (0 pending)' }).isDisabled()).to.be.true();
            expect(await page.getByRole('button', { name: 'Roll back last batch' }).isEnabled()).to.be.true();
            await screenshot(page, 'schema-migrations');
            expect(await layoutProblems(page)).to.equal([]);
            expect(errors.filter((error) => !/status of 40[013]/.test(error))).to.equal([]);
        });

        it('migrates a SQLite library into PostgreSQL and shows a matching report', { timeout: 300_000 }, async () => {

            const { page, errors } = consolePage;
            // The previous test rolled back and re-applied every migration, the
            // sessions table with them: that login is gone.
            await login(page);
            await openPanel(page, 'data-migration', 'Source URL');
            expect(await layoutProblems(page)).to.equal([]);
            await screenshot(page, 'data-migration-form');
            const sourceField = page.locator('input[name="source"]');
            const targetField = page.locator('input[name="target"]');
            const buttons = [page.getByRole('button', { name: 'Dry run' }), page.getByRole('button', { name: 'Start migration' })];
            await sourceField.fill(`sqlite:${source}`);
            await targetField.fill(TARGET);
            // Small batches: the run lasts a few seconds, long enough to see it running.
            await page.locator('input[name="batchSize"]').fill('50');

            // After a run the form keeps what was typed and its buttons work again.
            const formIsReady = async () => {

                expect(await sourceField.inputValue()).to.equal(`sqlite:${source}`);
                expect(await targetField.inputValue()).to.equal(TARGET);
                expect(await page.locator('input[name="batchSize"]').inputValue()).to.equal('50');
                for (const button of buttons) {
                    expect(await button.isEnabled()).to.be.true();
                }
            };

            await buttons[0]!.click();
            await panelBody(page).getByText(/Dry run (succeeded|failed|cancelled)/).waitFor({ timeout: 120_000 });
            const dry = (await panelBody(page).locator('#data-migration-status .alert').first().textContent())!;
            expect(dry).to.match(/^Dry run succeeded: \d+ table\(s\), [\d,]+ row\(s\) to copy\. Nothing was written\.$/);
            await formIsReady();
            await screenshot(page, 'data-migration-dry-run');

            await buttons[1]!.click();
            // Live progress polls every 2 s until the job ends; the buttons wait meanwhile.
            await panelBody(page).getByText('Migration running').waitFor();
            for (const button of buttons) {
                expect(await button.isDisabled()).to.be.true();
            }

            await screenshot(page, 'data-migration-running');
            await panelBody(page).getByText(/Migration (succeeded|failed|cancelled)/).waitFor({ timeout: 240_000 });
            const status = (await panelBody(page).locator('#data-migration-status').textContent())!;
            expect(status).to.contain('Migration succeeded');
            expect(status).to.not.contain('DIFFERS');
            // One sentence for the outcome, not the status twice.
            const banner = (await panelBody(page).locator('#data-migration-status .alert').first().textContent())!;
            expect(banner).to.match(/^Migration succeeded: [\d,]+ row\(s\) in [\d.]+ m?s \(\d[\d,]* rows\/s\), checksums compared\.$/);
            expect(banner.match(/succeeded/g)).to.have.length(1);

            const rows = await panelBody(page).locator('#data-migration-status tbody tr').allTextContents();
            expect(rows.length).to.be.at.least(10);
            for (const row of rows) {
                expect(row, row).to.contain('match');
            }

            await formIsReady();
            await screenshot(page, 'data-migration');
            expect(await layoutProblems(page)).to.equal([]);

            // The shell's Refresh re-renders the panel but keeps what was typed.
            await page.click('button[data-refresh-target="#panel-body"]');
            await waitForPanel(page, 'data-migration', 'Migration succeeded');
            await formIsReady();

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
