// Browser test of the API documentation: Swagger UI at /documentation loads
// the OpenAPI document, groups operations by tag, and its Authorize button
// takes the admin token that an ops call then carries. Registered by
// test/browser/run.ts.

import { expect } from '@hapi/code';
import type * as Lab from '@hapi/lab';
import type { Browser, Page } from 'playwright-core';

import { launchBrowser, screenshot, startLiveServer, TEST_ADMIN_TOKEN, type LiveServer } from './harness';

type Script = ReturnType<typeof Lab.script>;

export function documentationSuite(lab: Script): void {

    const { describe, it, before, after } = lab;

    describe('API documentation (browser)', () => {

        let live: LiveServer;
        let chromium: Browser;
        let page: Page;

        before(async () => {

            live = await startLiveServer();
            chromium = await launchBrowser();
            page = await (await chromium.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
        });

        after(async () => {

            await page?.context().close();
            await chromium?.close();
            await live?.stop();
        });

        it('shows every tag, and calls an ops route with the token given to Authorize', async () => {

            await page.goto(`${live.baseUrl}/documentation`);
            await page.locator('.opblock-tag-section').first().waitFor();
            const tags = await page.locator('.opblock-tag').allTextContents();
            for (const tag of ['resources', 'collections', 'monitoring', 'backup', 'migrator', 'ops']) {
                expect(tags.some((text) => text.startsWith(tag)), `tag ${tag} in ${tags.join(' | ')}`).to.be.true();
            }

            await page.locator('button.authorize').first().click();
            await page.locator('.auth-container input').first().fill(TEST_ADMIN_TOKEN);
            await page.locator('.auth-container button.authorize').first().click();
            await page.locator('.modal-ux button.close-modal').click();

            const operation = page.locator('#operations-ops-getOpsOverview');
            await operation.locator('.opblock-summary').click();
            await operation.locator('button.try-out__btn').click();
            await operation.locator('button.execute').click();
            const status = operation.locator('.live-responses-table tbody .response-col_status').first();
            await status.waitFor();
            expect((await status.textContent())?.trim()).to.equal('200');
            await screenshot(page, 'documentation-authorized-ops-call');
        });
    });
}
