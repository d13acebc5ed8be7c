// Browser tests of the Backups panel: create, verify, a refused and a real
// restore, prune preview, all through htmx with the console's CSRF header and
// CSP. Registered by test/browser/run.ts.

import Fs from 'node:fs';
import { expect } from '@hapi/code';
import type * as Lab from '@hapi/lab';
import type { Browser } from 'playwright-core';

import { tempBackupDir } from '../helpers/backup';
import { acceptNextDialog, launchBrowser, layoutProblems, login, newConsolePage, openPanel, panelBody, screenshot, startLiveServer, waitForPanel, type ConsolePage, type LiveServer } from './harness';

type Script = ReturnType<typeof Lab.script>;

export function backupsPanelSuite(lab: Script): void {

    const { describe, it, before, after } = lab;

    describe('backups panel (browser)', () => {

        let live: LiveServer;
        let chromium: Browser;
        let consolePage: ConsolePage;
        let dir: string;

        before(async () => {

            dir = tempBackupDir();
            live = await startLiveServer({ env: { BACKUP_DIR: dir } });
            await live.server.knex('users').insert([{ email: 'ada@example.org' }, { email: 'alan@example.org' }]);
            chromium = await launchBrowser();
            consolePage = await newConsolePage(chromium, live.baseUrl);
        });

        after(async () => {

            await consolePage?.context.close();
            await chromium?.close();
            await live?.stop();
            Fs.rmSync(dir, { recursive: true, force: true });
        });

        it('creates, verifies and restores a backup from the panel, and refuses an unconfirmed restore', { timeout: 120_000 }, async () => {

            const { page, errors } = consolePage;
            await login(page);
            await openPanel(page, 'backups', 'No backups yet.');

            await page.getByRole('button', { name: 'Create backup' }).click();
            await waitForPanel(page, 'backups', /create .*: created neo-alexandria_/);
            const name = (await panelBody(page).locator('td code').first().textContent())!;
            expect(name).to.match(/^neo-alexandria_([A-Za-z0-9_-]+_)?\d{8}T\d{6}Z_[0-9a-f]{8}\.(dump|sqlite3)$/);
            await panelBody(page).getByText('not verified').waitFor();

            await page.getByRole('button', { name: 'Verify' }).click();
            await waitForPanel(page, 'backups', 'checksum and row counts match');
            await panelBody(page).getByText(/^verified \d{4}-/).waitFor();

            const confirmation = (await panelBody(page).locator('details label code').textContent())!;
            await page.locator('details summary').click();
            await page.locator('input[name="tables"]').fill('users');
            await page.locator('input[name="confirm"]').fill('not the name');
            await page.getByRole('button', { name: 'Restore' }).click();
            await waitForPanel(page, 'backups', 'Not restored: type the database name');

            await live.server.knex('users').delete();
            await page.locator('details summary').click();
            await page.locator('input[name="tables"]').fill('users');
            await page.locator('input[name="confirm"]').fill(confirmation);
            await page.getByRole('button', { name: 'Restore' }).click();
            await waitForPanel(page, 'backups', 'restored (partial): users 2');
            expect(await live.server.knex('users').orderBy('email').pluck('email')).to.equal(['ada@example.org', 'alan@example.org']);

            await page.getByRole('button', { name: 'Preview prune' }).click();
            await waitForPanel(page, 'backups', 'Nothing to prune; keeping 1');
            acceptNextDialog(page);
            await page.getByRole('button', { name: 'Prune', exact: true }).click();
            await waitForPanel(page, 'backups', 'Nothing to prune; keeping 1');
            await screenshot(page, 'backups');
            expect(await layoutProblems(page)).to.equal([]);

            // CSP violations and script errors show up here: the panel must run clean.
            expect(errors.filter((error) => !/status of 40[013]/.test(error))).to.equal([]);
        });
    });
}
