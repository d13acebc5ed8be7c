import { spawnSync } from 'node:child_process';
import Os from 'node:os';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { isPostgres, postgresOnly } from '../../helpers/database';
import { holdConnections, release, slowQueryOf } from '../../helpers/monitoring';
import { needsPromtool } from '../../helpers/requirements';
import { adminHeaders, createTestServer, type TestServer } from '../../helpers/server';
import { testDatabaseUrl } from '../../../server/config';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const promtool = needsPromtool();

/** The value of one sample line of Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {

    for (const line of text.split('\n')) {
        if (line.startsWith(`${series} `)) {
            return Number(line.slice(series.length + 1));
        }
    }

    return undefined;
}

describe('monitoring: GET /metrics', () => {

    let t: TestServer;

    before(async () => {

        t = await createTestServer({ DB_POOL_MIN: '0', DB_POOL_MAX: '4' });
    });

    after(async () => {

        await t.stop();
    });

    it('needs the admin token unless METRICS_PUBLIC is set', async () => {

        expect((await t.server.inject('/metrics')).statusCode).to.equal(401);

        const open = await createTestServer({ METRICS_PUBLIC: '1' });
        try {
            expect((await open.server.inject('/metrics')).statusCode).to.equal(200);
            expect((await open.server.inject('/monitoring/database')).statusCode).to.equal(401);
        }
        finally {
            await open.stop();
        }
    });

    it('names this instance in na_instance_info: INSTANCE_NAME, else host:port', async () => {

        const text = (await t.server.inject({ url: '/metrics', headers: adminHeaders })).payload;
        expect(sample(text, `na_instance_info{app_instance="${Os.hostname()}:${t.server.settings.port ?? 3000}"}`)).to.equal(1);

        const named = await createTestServer({ INSTANCE_NAME: 'api-2 "eu"' });
        try {
            const own = (await named.server.inject({ url: '/metrics', headers: adminHeaders })).payload;
            // One series, the label value escaped as the text format wants.
            expect(own.match(/^na_instance_info\{.*$/gm)).to.equal(['na_instance_info{app_instance="api-2 \\"eu\\""} 1']);
        }
        finally {
            await named.stop();
        }
    });

    it('gives the same figures as the JSON routes, in Prometheus text format', async () => {

        for (let i = 0; i < 3; ++i) {
            await t.server.inject('/resources/00000000-0000-4000-8000-000000000001');
        }

        const held = await holdConnections(t.server.knex, isPostgres ? 3 : 1);
        let res;
        try {
            res = await t.server.inject({ url: '/metrics', headers: adminHeaders });
        }
        finally {
            await release(held);
        }

        expect(res.statusCode).to.equal(200);
        expect(res.headers['content-type']).to.contain('text/plain');
        expect(res.headers['content-type']).to.contain('version=0.0.4');
        const text = res.payload;
        const version = await t.server.db.dialect.serverVersion(t.server.knex);
        expect(sample(text, `na_db_info{dialect="${t.database.type}",version="${version}"}`)).to.equal(1);
        expect(sample(text, 'na_db_stats_up')).to.equal(1);
        expect(sample(text, 'na_db_pool_connections{state="in_use"}')).to.equal(isPostgres ? 3 : 1);
        expect(sample(text, 'na_db_pool_connections{state="idle"}')).to.be.a.number();
        expect(sample(text, 'na_db_pool_max_connections')).to.equal(isPostgres ? 4 : 1);
        expect(sample(text, 'na_db_pool_min_connections')).to.equal(isPostgres ? 0 : 1);
        expect(sample(text, 'na_db_pool_utilization_ratio')).to.equal(isPostgres ? 0.75 : 1);
        expect(sample(text, 'na_db_pool_waiting_requests')).to.equal(0);
        expect(sample(text, 'na_db_pool_acquire_timeouts_total')).to.equal(0);
        expect(sample(text, 'na_db_pool_closed_connections_total{reason="dead"}')).to.equal(0);
        // Every acquire so far, in cumulative buckets: the last one holds them all.
        const acquires = sample(text, 'na_db_pool_acquire_duration_seconds_count') as number;
        expect(acquires).to.be.at.least(3);
        expect(sample(text, 'na_db_pool_acquire_duration_seconds_bucket{le="+Inf"}')).to.equal(acquires);
        expect(sample(text, 'na_db_pool_acquire_duration_seconds_sum')).to.be.a.number();
        expect(text).to.contain('# TYPE na_db_pool_acquire_duration_seconds histogram');
        expect(sample(text, 'na_http_requests_total{route="GET /resources/{id}"}')).to.equal(3);
        expect(sample(text, 'na_db_queries_total{route="GET /resources/{id}"}')).to.equal(3);
        expect(sample(text, 'na_db_query_seconds_total{route="GET /resources/{id}"}') as number).to.be.above(0);
        expect(sample(text, 'na_db_queries_total{route="(background)"}') as number).to.be.above(0);
        expect(sample(text, 'na_db_slow_queries_total')).to.equal(0);
        expect(sample(text, 'na_db_size_bytes') as number).to.be.above(0);
        expect(text).to.contain('# TYPE na_db_queries_total counter');
        expect(text).to.contain('# TYPE na_db_pool_connections gauge');

        if (isPostgres) {
            expect(sample(text, 'na_pg_cache_hit_ratio') as number).to.be.within(0, 1);
            expect(sample(text, 'na_pg_connections{state="idle in transaction"}')).to.equal(3);
            expect(sample(text, 'na_pg_deadlocks_total')).to.be.a.number();
            expect(sample(text, 'na_pg_transactions_total') as number).to.be.above(0);
            expect(text).to.not.contain('na_sqlite_');
        }
        else {
            expect(sample(text, 'na_sqlite_page_size_bytes')).to.equal(4096);
            expect(sample(text, 'na_sqlite_busy_errors_total')).to.equal(0);
            expect(sample(text, 'na_sqlite_wal_bytes')).to.be.a.number();
            expect(text).to.not.contain('na_pg_');
        }
    });

    it('passes promtool check metrics (format and naming lint) with every family filled', { ...promtool, timeout: 30_000 }, async () => {

        const slow = await slowQueryOf(t.server.knex, 40);
        t.server.route({ method: 'GET', path: '/test/metrics-slow', handler: async (request) => {

            await request.knex.raw(slow.sql, slow.bindings);
            return { ok: true };
        } });
        await t.server.inject('/test/metrics-slow');
        const held = await holdConnections(t.server.knex, 1);
        let text: string;
        try {
            text = (await t.server.inject({ url: '/metrics', headers: adminHeaders })).payload;
        }
        finally {
            await release(held);
        }

        expect(text).to.contain(isPostgres ? 'na_pg_connections{' : 'na_sqlite_pages ');
        const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
        expect(check.error, 'promtool did not run (install Debian\'s prometheus package)').to.not.exist();
        // promtool prints each lint problem and exits 3, or prints nothing and exits 0.
        expect(check.stdout + check.stderr).to.equal('');
        expect(check.status).to.equal(0);
    });

    it('keeps one registry per server, so two servers in one process both serve metrics', async () => {

        const second = await createTestServer();
        try {
            await second.server.inject('/resources?limit=1');
            const mine = (await t.server.inject({ url: '/metrics', headers: adminHeaders })).payload;
            const theirs = (await second.server.inject({ url: '/metrics', headers: adminHeaders })).payload;
            expect(sample(theirs, 'na_http_requests_total{route="GET /resources"}')).to.equal(1);
            expect(sample(mine, 'na_http_requests_total{route="GET /resources"}')).to.not.exist();
        }
        finally {
            await second.stop();
        }
    });
});

describe('monitoring: console panels', () => {

    let t: TestServer;

    before(async () => {

        t = await createTestServer({ SLOW_QUERY_MS: '20' });
    });

    after(async () => {

        await t.stop();
    });

    it('exposes the Pool, Charts, Queries and Advisor panels to the console', () => {

        expect((t.server.plugins as unknown as Record<string, unknown>).monitoring).to.equal({
            consolePanels: [
                { id: 'pool', title: 'Pool', order: 10, path: '/console/panels/pool', refreshSeconds: 2 },
                { id: 'charts', title: 'Charts', order: 15, path: '/console/panels/charts' },
                { id: 'queries', title: 'Queries', order: 20, path: '/console/panels/queries', refreshSeconds: 10 },
                { id: 'advisor', title: 'Advisor', order: 25, path: '/console/panels/advisor', refreshSeconds: 15 }
            ]
        } as any);
    });

    it('serves the Pool panel fragment to admins only', async () => {

        // Without a token or session the console sends the browser to its login form.
        const anonymous = await t.server.inject('/console/panels/pool');
        expect(anonymous.statusCode).to.equal(302);
        expect(anonymous.headers.location).to.contain('/console/login');

        const [trx] = await holdConnections(t.server.knex, 1);
        let res;
        try {
            res = await t.server.inject({ url: '/console/panels/pool', headers: adminHeaders });
        }
        finally {
            await release([trx!]);
        }

        expect(res.statusCode).to.equal(200);
        expect(res.headers['content-type']).to.contain('text/html');
        const max = isPostgres ? 10 : 1;
        const percent = 100 / max;
        expect(res.payload).to.contain('<div class="fact"><dt>In use</dt><dd>1</dd></div>');
        expect(res.payload).to.contain(`<meter min="0" max="100" low="70" high="90" optimum="0" value="${percent}"`);
        expect(res.payload).to.contain(`${percent.toFixed(1)} % in use`);
        expect(res.payload).to.contain('<dt>Acquire p50 / p95</dt>');
        expect(res.payload).to.contain(isPostgres ? '<dt>Cache hit ratio</dt>' : '<dt>Journal mode</dt><dd>wal</dd>');
        expect(res.payload).to.contain(isPostgres ? '<dt>Transactions / s</dt>' : '<dt>Database size</dt>');
        // The console's Content-Security-Policy allows no inline styles or scripts.
        expect(res.payload).to.not.match(/style=|<script|hx-on/);
        expect(res.payload).to.not.contain('<html');
    });

    it('serves the Queries panel with the slow-query log escaped and the per-route counts', async () => {

        const slow = await slowQueryOf(t.server.knex, 40);
        t.server.route({
            method: 'GET',
            path: '/test/slow-markup',
            handler: async (request) => {

                await request.knex.raw(`${slow.sql} /* <script>alert(1)</script> */`, slow.bindings);
                return { ok: true };
            }
        });
        await t.server.inject('/test/slow-markup');

        expect((await t.server.inject('/console/panels/queries')).statusCode).to.equal(302);
        const res = await t.server.inject({ url: '/console/panels/queries', headers: adminHeaders });
        expect(res.statusCode).to.equal(200);
        expect(res.payload).to.contain('&lt;script&gt;alert(1)&lt;/script&gt;');
        expect(res.payload).to.not.contain('<script>');
        expect(res.payload).to.contain('<td>GET /test/slow-markup</td>');
        expect(res.payload).to.contain('Slow queries (over 20 ms;');
        expect(res.payload).to.contain('<table class="data">');
        expect(res.payload).to.not.match(/style=|hx-on/);
    });
});

describe('monitoring: secrets', () => {

    const collectOutputs = async (t: TestServer): Promise<string> => {

        const outputs: string[] = [];
        for (const url of ['/monitoring/database', '/monitoring/queries', '/metrics', '/console/panels/pool', '/console/panels/queries']) {
            const res = await t.server.inject({ url, headers: adminHeaders });
            expect(res.statusCode, url).to.equal(200);
            outputs.push(res.payload);
        }

        return outputs.join('\n');
    };

    it('never shows query bindings or password literals in any monitoring output or log', async () => {

        const t = await createTestServer({ SLOW_QUERY_MS: '20' });
        const logged: string[] = [];
        t.server.events.on('log', (event) => logged.push(JSON.stringify(event.data)));
        t.server.events.on({ name: 'request', channels: 'app' }, (_request, event) => logged.push(JSON.stringify(event.data)));
        try {
            const slow = await slowQueryOf(t.server.knex, 40);
            t.server.route({
                method: 'GET',
                path: '/test/secret',
                handler: async (request) => {

                    await request.knex.raw(`SELECT ? AS token, 'password=pw-literal-secret' AS note`, ['hunter2-binding-secret']);
                    await request.knex.raw(`${slow.sql} /* password=pw-literal-secret */`, slow.bindings);
                    return { ok: true };
                }
            });
            await t.server.inject('/test/secret');

            const text = `${await collectOutputs(t)}\n${logged.join('\n')}`;
            expect(text).to.contain('GET /test/secret');
            expect(text).to.contain('password=***');
            expect(text).to.not.contain('hunter2-binding-secret');
            expect(text).to.not.contain('pw-literal-secret');
        }
        finally {
            await t.stop();
        }
    });

    it('postgres only: never shows the connection password', postgresOnly, async () => {

        const url = new URL(testDatabaseUrl()!);
        url.password = 'S3cretPassw0rd-x';
        // Trust authentication on the test server ignores the password.
        const t = await createTestServer({ DATABASE_URL: url.toString() });
        try {
            await t.server.inject('/resources');
            const text = await collectOutputs(t);
            expect(text).to.contain(':***@');
            expect(text).to.not.contain('S3cretPassw0rd-x');
        }
        finally {
            await t.stop();
        }
    });
});
