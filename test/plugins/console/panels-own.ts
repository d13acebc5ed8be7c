import { expect } from '@hapi/code';
import type { Plugin } from '@hapi/hapi';
import * as Lab from '@hapi/lab';

import { overviewFragment, type Overview } from '../../../plugins/console/overview';
import { formatRank, resultsFragment, sanitizeSnippet } from '../../../plugins/console/search-tryout';
import type { FullTextSearch, SearchRequest } from '../../../server/search/types';
import { isPostgres } from '../../helpers/database';
import { adminHeaders, type TestServer } from '../../helpers/server';
import { createConsoleServer, loginSession, type ConsoleSession } from './helpers';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const HOSTILE = '<script>alert("x")</script>&\'`';
const ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&#96;';

describe('console: Overview panel', () => {

    let t: TestServer;
    let login: ConsoleSession;

    before(async () => {

        t = await createConsoleServer();
        login = await loginSession(t.server);
    });

    after(async () => {

        await t.stop();
    });

    it('reports the dialect, version, redacted target, size, uptime and health as JSON', async () => {

        const res = await t.server.inject({ url: '/ops/overview', headers: adminHeaders });
        expect(res.statusCode).to.equal(200);
        const overview = JSON.parse(res.payload) as Overview;
        expect(overview.dialect).to.equal(isPostgres ? 'postgres' : 'sqlite');
        expect(overview.version).to.match(isPostgres ? /^PostgreSQL \d+/ : /^SQLite 3\.\d+/);
        expect(overview.target).to.equal(t.server.db.target);
        expect(overview.database_size_bytes!).to.be.above(0);
        expect(overview.health.status).to.equal('ok');
        expect(overview.health.latency_ms).to.be.a.number();
        expect(overview.uptime_s).to.be.at.least(0);
        expect(overview.pool).to.equal({ min: t.server.db.pool.min, max: t.server.db.pool.max });
        expect(overview.search_engine).to.equal(t.server.decorations.server.includes('search') ? t.server.search.engine : null);
        expect(res.payload).to.not.contain(t.config.adminToken!);
    });

    it('never shows a password of the database URL', async () => {

        // A PostgreSQL target carries credentials; the shown target must not.
        const overview = JSON.parse((await t.server.inject({ url: '/ops/overview', headers: adminHeaders })).payload) as Overview;
        const password = isPostgres ? new URL(t.config.database.url).password : '';
        if (password) {
            expect(overview.target).to.not.contain(password);
        }

        expect(overview.target).to.not.match(/:[^:@/]+@/);
    });

    it('renders the same figures as a fragment for a logged-in console', async () => {

        const res = await t.server.inject({ url: '/console/panels/overview', headers: { cookie: login.cookie, 'hx-request': 'true' } });
        expect(res.statusCode).to.equal(200);
        expect(res.headers['content-type']).to.equal('text/html; charset=utf-8');
        expect(res.payload).to.contain(`<div class="fact"><dt>Dialect</dt><dd>${t.server.db.type}</dd></div>`);
        expect(res.payload).to.contain('<span class="badge badge-ok">healthy</span>');
        expect(res.payload).to.not.contain('<html');
    });

    it('reports a database that does not answer as degraded, with 503 and no credentials', async () => {

        const broken = await createConsoleServer();
        try {
            await broken.server.db.destroy();
            const res = await broken.server.inject({ url: '/ops/overview', headers: adminHeaders });
            expect(res.statusCode).to.equal(503);
            const overview = JSON.parse(res.payload) as Overview;
            expect(overview.health).to.include({ status: 'degraded', latency_ms: null });
            expect(overview.health.error).to.be.a.string();
            expect(overview.version).to.be.null();
            expect(res.payload).to.not.match(/postgres:\/\/[^@/]*:[^@/]*@/);
        }
        finally {
            await broken.stop();
        }
    });

    it('escapes every value it shows', () => {

        const fragment = overviewFragment({
            dialect: HOSTILE,
            version: HOSTILE,
            target: HOSTILE,
            started_at: new Date(0).toISOString(),
            uptime_s: 93_784,
            health: { status: 'degraded', latency_ms: null, error: HOSTILE },
            database_size_bytes: 5 * 1024 * 1024,
            pool: { min: 0, max: 60 },
            search_engine: HOSTILE,
            node_version: HOSTILE,
            env: HOSTILE
        }).value;

        expect(fragment).to.not.contain('<script>');
        expect(fragment.split(ESCAPED).length - 1).to.equal(7);
        expect(fragment).to.contain('<div class="alert alert-error" role="alert">The database did not answer: ');
        expect(fragment).to.contain('<span class="badge badge-error">degraded</span>');
        expect(fragment).to.contain('5.00 MiB');
        expect(fragment).to.contain('1d 2h 3m');
    });
});

/** A stand-in for the fts plugins: returns hostile titles and snippets. */
function fakeSearch(calls: SearchRequest[]): Plugin<void> {

    const search: FullTextSearch = {
        engine: 'fake <fts>',
        search(request) {

            calls.push(request);
            return Promise.resolve({
                total: 2,
                total_relation: 'eq',
                suggestion: '<img src=x onerror=alert(1)>',
                items: [
                    { resource: { id: 'r1', title: HOSTILE }, rank: 0.123456, snippet: 'a <mark>pool</mark> &amp; <img src=x onerror=alert(2)>' },
                    { resource: { id: 'r2', title: '' }, rank: Number.NaN, snippet: '' }
                ]
            });
        }
    };

    return {
        name: 'fake-search',
        register(server) {

            // The real fts plugin of the dialect is always loaded: the stand-in
            // takes its place on the same decoration, so these tests control
            // exactly what the engine answers (hostile titles and snippets).
            Object.defineProperty(server.search, 'engine', { value: search.engine, configurable: true });
            Object.defineProperty(server.search, 'search', { value: search.search, configurable: true });
        }
    };
}

describe('console: Search tryout panel', () => {

    it('says search is unavailable when no search plugin is loaded', async () => {

        const t = await createConsoleServer();
        try {
            const login = await loginSession(t.server);
            const panel = await t.server.inject({ url: '/console/panels/search', headers: { cookie: login.cookie } });
            expect(panel.statusCode).to.equal(200);
            if (t.server.decorations.server.includes('search')) {
                expect(panel.payload).to.contain('name="q"');
                return;
            }

            expect(panel.payload).to.contain('Search unavailable');
            const results = await t.server.inject({ url: '/console/panels/search/results?q=pool', headers: { cookie: login.cookie } });
            expect(results.statusCode).to.equal(503);
            expect(results.payload).to.contain('Search unavailable');
        }
        finally {
            await t.stop();
        }
    });

    it('shows rank and snippet of each hit, escaping titles and allowing only <mark> in snippets', async () => {

        const calls: SearchRequest[] = [];
        const t = await createConsoleServer({ plugins: [fakeSearch(calls)] });
        try {
            const login = await loginSession(t.server);
            const panel = await t.server.inject({ url: '/console/panels/search', headers: { cookie: login.cookie } });
            expect(panel.payload).to.contain('<span class="badge badge-muted">fake &lt;fts&gt;</span>');
            expect(panel.payload).to.contain('hx-get="/console/panels/search/results" hx-target="#search-results"');

            const res = await t.server.inject({ url: `/console/panels/search/results?q=${encodeURIComponent(' "pool" <b> ')}&limit=5`, headers: { cookie: login.cookie } });
            expect(res.statusCode).to.equal(200);
            expect(calls).to.have.length(1);
            const { knex, ...call } = calls[0]!;
            expect(call).to.equal({ query: '"pool" <b>', limit: 5, offset: 0 });
            // The request's own database handle, so monitoring counts the search for this route.
            expect(typeof knex).to.equal('function');
            const page = res.payload;
            expect(page).to.contain('2 results (1–2) for <q>&quot;pool&quot; &lt;b&gt;</q>');
            expect(page).to.contain(`<strong>${ESCAPED}</strong>`);
            expect(page).to.contain('<td class="num">0.1235</td>');
            expect(formatRank(0.000001234567)).to.equal('0.000001235');
            expect(formatRank(12.3456)).to.equal('12.35');
            expect(page).to.contain('<td class="snippet">a <mark>pool</mark> &amp; &lt;img src=x onerror=alert(2)&gt;</td>');
            expect(page).to.contain('<strong>(untitled)</strong>');
            expect(page).to.contain('<td class="num">—</td>');
            expect(page).to.contain('Did you mean <a href="#" hx-get="/console/panels/search/results?q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"');
            expect(page).to.not.contain('<img');
        }
        finally {
            await t.stop();
        }
    });

    it('refuses an empty or oversized query with 400', async () => {

        const t = await createConsoleServer({ plugins: [fakeSearch([])] });
        try {
            for (const q of ['', '%20%20', 'x'.repeat(501)]) {
                const res = await t.server.inject({ url: `/console/panels/search/results?q=${q}`, headers: adminHeaders });
                expect(res.statusCode, q).to.equal(400);
            }

            expect((await t.server.inject({ url: '/console/panels/search/results', headers: adminHeaders })).payload).to.contain('Type a query');
        }
        finally {
            await t.stop();
        }
    });

    it('sanitises snippets: marks and character references stay, any other markup is text', () => {

        expect(sanitizeSnippet('<mark>a</mark> &lt;b&gt; &#39; &#x27;').value).to.equal('<mark>a</mark> &lt;b&gt; &#39; &#x27;');
        expect(sanitizeSnippet('<mark onclick="x">a</mark><script>').value).to.equal('&lt;mark onclick=&quot;x&quot;&gt;a</mark>&lt;script&gt;');
        expect(sanitizeSnippet('AT&T & co').value).to.equal('AT&amp;T &amp; co');
        expect(sanitizeSnippet(null).value).to.equal('');
        expect(resultsFragment('q', { total: 0, total_relation: 'eq', items: [] }, 1).value).to.contain('0 results for <q>q</q>');
        expect(resultsFragment('q', { total: 10_000, total_relation: 'gte', items: [] }, 1).value).to.contain('10,000+ results for <q>q</q>');
    });
});
