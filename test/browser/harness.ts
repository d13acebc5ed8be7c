// Browser-test harness: a real server on a free port (SQLite by default, the
// PostgreSQL test database when TEST_DIALECT / TEST_DATABASE_URL say so), a
// headless Debian chromium driven by playwright-core, and helpers to log in,
// open a panel, wait for it and save a screenshot. Suites for other panels
// (pool, migrations, data migration, backups) build on the same helpers.

import Fs from 'node:fs';
import Net from 'node:net';
import Path from 'node:path';
import type { Plugin, Server } from '@hapi/hapi';
import type { Browser, BrowserContext, ConsoleMessage, Locator, Page } from 'playwright-core';

import { loadConfig, type Config, type Env } from '../../server/config';
import { createServer, prepareDatabase } from '../../server/index';
import { createTestDatabase, dialect, type TestDatabase } from '../helpers/database';
import { TEST_ADMIN_TOKEN } from '../helpers/server';

export { TEST_ADMIN_TOKEN };

export const CHROMIUM_PATH = '/usr/bin/chromium';

// Flags for a quiet, offline, container-friendly chromium. Playwright adds its
// own --user-data-dir (a fresh temporary profile per launch).
export const CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync'
];

/** Ports this project may listen on in tests (shared machine: stay inside the range). */
export const PORT_RANGE = { first: 3601, last: 3699 };

// Chromium refuses to load pages from its "unsafe" ports (net::ERR_UNSAFE_PORT);
// 3659 (Apple SASL) is one inside the range.
const CHROMIUM_UNSAFE_PORTS = new Set([3659]);

export const SCREENSHOT_DIR = Path.resolve(__dirname, '..', '..', 'test-artifacts', 'screenshots');

async function portIsFree(port: number): Promise<boolean> {

    return await new Promise((resolve) => {

        const probe = Net.createServer();
        probe.once('error', () => resolve(false));
        probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
}

export async function freePort(): Promise<number> {

    // Start at a random offset so parallel runs rarely race for the same port.
    const span = PORT_RANGE.last - PORT_RANGE.first + 1;
    const offset = Math.floor(Math.random() * span);
    for (let i = 0; i < span; ++i) {
        const port = PORT_RANGE.first + ((offset + i) % span);
        if (!CHROMIUM_UNSAFE_PORTS.has(port) && await portIsFree(port)) {
            return port;
        }
    }

    throw new Error(`No free port between ${PORT_RANGE.first} and ${PORT_RANGE.last}`);
}

export interface LiveServer {
    server: Server;
    config: Config;
    database: TestDatabase;
    /** http://127.0.0.1:<port> */
    baseUrl: string;
    stop(): Promise<void>;
}

export interface LiveServerOptions {
    env?: Env;
    /** Extra plugins registered before start (test panels, fakes). */
    plugins?: Array<Plugin<any>>;
    seed?: boolean;
}

/** Composes the server the way `npm start` does and listens on a free port. */
export async function startLiveServer({ env = {}, plugins = [], seed = false }: LiveServerOptions = {}): Promise<LiveServer> {

    const database = await createTestDatabase();
    for (let attempt = 0; ; ++attempt) {
        const port = await freePort();
        const config = loadConfig({
            NODE_ENV: 'test',
            HOST: '127.0.0.1',
            PORT: String(port),
            DATABASE_URL: database.url,
            ADMIN_TOKEN: TEST_ADMIN_TOKEN,
            AUTO_MIGRATE: '1',
            SEED_DEMO: seed ? '1' : '0',
            DB_POOL_MIN: '0',
            DB_POOL_MAX: '10',
            BACKUP_DIR: `./backups/test-browser-${process.pid}`,
            ...env
        });

        const server = await createServer(config);
        for (const plugin of plugins) {
            await server.register(plugin);
        }

        try {
            await prepareDatabase(server, config);
            await server.start();
        }
        catch (error) {
            await server.stop().catch(() => {});
            if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) {
                continue;               // Lost a race for the port: take another.
            }

            await database.cleanup();
            throw error;
        }

        return {
            server,
            config,
            database,
            baseUrl: `http://127.0.0.1:${port}`,
            async stop() {

                await server.stop({ timeout: 1000 });
                await database.cleanup();
            }
        };
    }
}

export async function launchBrowser(): Promise<Browser> {

    if (!Fs.existsSync(CHROMIUM_PATH)) {
        throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install -y chromium)`);
    }

    // Loaded here, not at import: `npm test` loads every file under test/ and
    // must not pull playwright (and its globals) into the unit run.
    const { chromium } = await import('playwright-core');
    return await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

export interface ConsolePage {
    context: BrowserContext;
    page: Page;
    /** Browser console errors seen so far (CSP violations, script errors). */
    errors: string[];
}

/** A fresh browser context (its own cookies) and page; records console errors. */
export async function newConsolePage(browser: Browser, baseUrl: string, viewport = { width: 1280, height: 800 }): Promise<ConsolePage> {

    const context = await browser.newContext({ baseURL: baseUrl, viewport });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message: ConsoleMessage) => {

        if (message.type() === 'error') {
            errors.push(message.text());
        }
    });
    page.on('pageerror', (error) => errors.push(String(error)));
    return { context, page, errors };
}

/** Logs in through the login form and waits for the console shell. */
export async function login(page: Page, token = TEST_ADMIN_TOKEN): Promise<void> {

    await page.goto('/console/login');
    await page.fill('#token', token);
    await Promise.all([
        page.waitForURL((url) => url.pathname !== '/console/login'),
        page.click('.login-card button[type="submit"]')
    ]);
    await page.waitForSelector('#panel-body');
}

/** The body of the panel shown on the page (the element htmx swaps into). */
export function panelBody(page: Page): Locator {

    return page.locator('#panel-body');
}

/**
 * Waits until the shown panel's fragment has been swapped in (no "Loading…"
 * placeholder, no request in flight) and, when given, contains `text`.
 */
export async function waitForPanel(page: Page, id: string, text?: string | RegExp): Promise<Locator> {

    const body = page.locator(`#panel-body[data-panel="${id}"]`);
    await body.waitFor();
    await page.waitForFunction((panelId) => {

        const element = (globalThis as any).document.querySelector(`#panel-body[data-panel="${panelId}"]`);
        return Boolean(element && element.getAttribute('data-htmx-powered') && !element.classList.contains('htmx-request') && !/Loading…/.test(element.textContent ?? ''));
    }, id);

    if (text !== undefined) {
        await body.filter({ hasText: text }).waitFor();
    }

    return body;
}

/** Opens /console/<id> and waits for its fragment. */
export async function openPanel(page: Page, id: string, text?: string | RegExp): Promise<Locator> {

    await page.goto(`/console/${id}`);
    return await waitForPanel(page, id, text);
}

// Callbacks given to page.evaluate / waitForFunction run in the browser, where
// globalThis is the window; `(globalThis as any)` keeps them compiling without
// the DOM library.

/** Simulates the tab being hidden or shown again (headless tabs are always "visible"). */
export async function setVisibility(page: Page, state: 'hidden' | 'visible'): Promise<void> {

    // A string, not a function: tsx wraps nested functions in a helper the page does not have.
    await page.evaluate(`(() => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => ${JSON.stringify(state)} });
        document.dispatchEvent(new Event('visibilitychange'));
    })()`);
}

/**
 * Accepts the next window.confirm (hx-confirm) or prompt, typing `text` into a
 * prompt. Playwright dismisses dialogs by default, which cancels the request.
 */
export function acceptNextDialog(page: Page, text?: string): void {

    page.once('dialog', (dialog) => void dialog.accept(text));
}

/** Saves a full-page screenshot as test-artifacts/screenshots/<dialect>/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {

    const dir = Path.join(SCREENSHOT_DIR, dialect);
    Fs.mkdirSync(dir, { recursive: true });
    const file = Path.join(dir, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
}

/** The narrowest a field for a database URL may be (a redacted PostgreSQL URL is ~60 characters). */
export const MIN_URL_INPUT_PX = 480;

/**
 * What in the shown panel's body departs from the console's shared look, one
 * sentence per problem (empty when none): a button with the browser's own
 * style, a table without the console's cell borders, a text field too narrow
 * (for a URL: under MIN_URL_INPUT_PX), a placeholder that reads like a value,
 * a heading that repeats the panel's title. Hidden elements are skipped.
 */
export async function layoutProblems(page: Page): Promise<string[]> {

    // A string, not a function: tsx wraps nested functions in a helper the page does not have.
    return await page.evaluate(`(() => {
        const problems = [];
        const body = document.querySelector('#panel-body');
        const title = document.querySelector('#panel-title').textContent.trim();
        const visible = (element) => element.getClientRects().length > 0 && getComputedStyle(element).visibility !== 'hidden';
        const describe = (element) => element.tagName.toLowerCase() + (element.name ? '[name=' + element.name + ']' : '') + ' "' + (element.textContent || element.value || '').trim().slice(0, 40) + '"';
        const bodyFont = getComputedStyle(document.body).fontFamily;
        for (const button of body.querySelectorAll('button')) {
            if (!visible(button)) continue;
            const style = getComputedStyle(button);
            if (style.borderTopLeftRadius !== '6px' || style.fontFamily !== bodyFont || style.borderTopStyle !== 'solid') {
                problems.push('default-styled button ' + describe(button) + ': radius ' + style.borderTopLeftRadius + ', border ' + style.borderTopStyle + ', font ' + style.fontFamily);
            }
        }
        for (const table of body.querySelectorAll('table')) {
            if (!visible(table)) continue;
            const cell = table.querySelector('td, th');
            const style = cell ? getComputedStyle(cell) : null;
            if (getComputedStyle(table).borderCollapse !== 'collapse' || !style || style.borderBottomStyle !== 'solid' || parseFloat(style.paddingLeft) < 6) {
                problems.push('unstyled table with ' + (table.querySelector('th') || {}).textContent + ' column');
            }
        }
        for (const input of body.querySelectorAll('input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea')) {
            if (!visible(input)) continue;
            const width = input.getBoundingClientRect().width;
            const isUrl = /url|source|target/i.test(input.name + ' ' + (input.labels && input.labels[0] ? input.labels[0].textContent : ''));
            const style = getComputedStyle(input);
            if (isUrl && width < ${MIN_URL_INPUT_PX}) problems.push('URL field ' + describe(input) + ' is ' + Math.round(width) + ' px wide');
            if (input.tagName === 'INPUT' && width < 100) problems.push('field ' + describe(input) + ' is ' + Math.round(width) + ' px wide');
            if (style.borderTopLeftRadius !== '6px') problems.push('default-styled field ' + describe(input));
            const placeholder = input.getAttribute('placeholder');
            if (placeholder && !/^e\\.g\\. /.test(placeholder)) problems.push('placeholder "' + placeholder + '" reads like a value (say "e.g. …" or give a hint below)');
        }
        for (const heading of body.querySelectorAll('h1, h2, h3')) {
            if (heading.textContent.trim() === title) problems.push('heading repeats the panel title "' + title + '"');
        }
        return problems;
    })()`) as string[];
}

/** The CSRF token the shell page hands to htmx. */
export async function csrfToken(page: Page): Promise<string | null> {

    return await page.locator('meta[name="csrf-token"]').getAttribute('content');
}

export interface FetchResult {
    status: number;
    body: string;
}

/** A request from inside the page with its cookies, as a forged or scripted one would be. */
export async function fetchFromPage(page: Page, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<FetchResult> {

    return await page.evaluate(async ({ url: target, init: options }) => {

        const response = await fetch(target, { credentials: 'same-origin', redirect: 'manual', ...options });
        return { status: response.status, body: await response.text() };
    }, { url, init });
}
