import { expect } from '@hapi/code';
import type { Request } from '@hapi/hapi';
import * as Lab from '@hapi/lab';

import { slowQueryOf, type SlowQuery } from '../../helpers/monitoring';
import { adminHeaders, createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

interface LogEvent {
    tags: string[];
    data: any;
    requestId: string | null;
}

describe('monitoring: slow-query log and per-route query counts', () => {

    let t: TestServer;
    let slow: SlowQuery;
    const logged: LogEvent[] = [];

    const queriesReport = async (query = ''): Promise<Record<string, any>> => {

        const res = await t.server.inject({ url: `/monitoring/queries${query}`, headers: adminHeaders });
        expect(res.statusCode, res.payload).to.equal(200);
        return res.result as Record<string, any>;
    };

    const routeStats = async (route: string) => (await queriesReport()).routes.find((entry: any) => entry.route === route);

    before(async () => {

        t = await createTestServer({ N_PLUS_ONE_QUERIES: '3' });
        const { server } = t;
        slow = await slowQueryOf(server.knex, 1200);

        server.events.on({ name: 'request', channels: 'app' }, (request: Request, event) => {

            logged.push({ tags: event.tags, data: event.data, requestId: request.headers['x-request-id'] as string ?? null });
        });
        server.events.on('log', (event) => logged.push({ tags: event.tags, data: event.data, requestId: null }));

        // Routes this suite owns: one slow query; q quick queries in sequence.
        server.route([
            {
                method: 'GET',
                path: '/test/slow',
                handler: async (request) => {

                    await request.knex.raw(slow.sql, slow.bindings);
                    return { ok: true };
                }
            },
            {
                method: 'GET',
                path: '/test/queries/{q}',
                handler: async (request) => {

                    const count = Number(request.params.q);
                    for (let i = 0; i < count; ++i) {
                        await request.knex.raw('SELECT ? AS i', [i]);
                    }

                    return { count };
                }
            }
        ]);
    });

    after(async () => {

        await t.stop();
    });

    it('needs the admin token', async () => {

        expect((await t.server.inject('/monitoring/queries')).statusCode).to.equal(401);
    });

    it('logs a query slower than SLOW_QUERY_MS with its duration, SQL without bindings, and route', async () => {

        // Calibrating the SQLite query was slow too (background work).
        const before = (await queriesReport()).slow_queries_total;
        const res = await t.server.inject({ url: '/test/slow', headers: { 'x-request-id': 'slow-test-1' } });
        expect(res.statusCode).to.equal(200);
        expect(res.headers['x-request-id']).to.equal('slow-test-1');

        const report = await queriesReport();
        expect(report.attribution).to.be.true();
        expect(report.slow_query_ms).to.equal(1000);
        expect(report.slow_queries_total).to.equal(before + 1);
        const [entry] = report.slow_queries;
        expect(entry.route).to.equal('GET /test/slow');
        expect(entry.request_id).to.equal('slow-test-1');
        expect(entry.duration_ms as number).to.be.at.least(1000);
        expect(entry.sql).to.contain(t.database.type === 'postgres' ? 'pg_sleep' : 'WITH RECURSIVE');
        expect(entry.sql).to.not.contain(String(slow.bindings[0]));
        expect(entry.bindings).to.equal(1);
        expect(entry.failed).to.be.false();
        expect(new Date(entry.at).getTime() as number).to.be.about(Date.now(), 10_000);

        const warning = logged.find((event) => event.tags.includes('slow-query'));
        expect(warning).to.exist();
        expect(warning!.tags).to.include('warn');
        expect(warning!.requestId).to.equal('slow-test-1');
        expect(warning!.data).to.include({ route: 'GET /test/slow', request_id: 'slow-test-1', sql: entry.sql, duration_ms: entry.duration_ms });
    });

    it('leaves quick queries out of the slow log', async () => {

        const before = (await queriesReport()).slow_queries_total;
        expect((await t.server.inject('/test/queries/2')).statusCode).to.equal(200);
        expect((await queriesReport()).slow_queries_total).to.equal(before);
    });

    it('counts K requests issuing Q queries each as K × Q queries of that route, even when concurrent', async () => {

        const K = 6;
        const Q = 4;
        const responses = await Promise.all(Array.from({ length: K }, () => t.server.inject(`/test/queries/${Q}`)));
        expect(responses.map((res) => res.statusCode)).to.equal(Array(K).fill(200));

        const stats = await routeStats('GET /test/queries/{q}');
        // One earlier request ran 2 queries.
        expect(stats.requests).to.equal(K + 1);
        expect(stats.queries).to.equal(K * Q + 2);
        expect(stats.queries_per_request).to.equal(Number(((K * Q + 2) / (K + 1)).toFixed(3)));
        expect(stats.max_queries_per_request).to.equal(Q);
        expect(stats.total_query_ms as number).to.be.above(0);
        expect(stats.max_query_ms as number).to.be.above(0).and.to.be.at.most(stats.total_query_ms);
        expect(stats.n_plus_one_requests).to.equal(K);
        expect(stats.suspected_n_plus_one).to.be.true();
    });

    it('does not flag a route that stays under the N+1 threshold', async () => {

        for (let i = 0; i < 3; ++i) {
            await t.server.inject('/resources?limit=5');
        }

        const stats = await routeStats('GET /resources');
        expect(stats).to.include({ requests: 3, queries: 6, queries_per_request: 2, max_queries_per_request: 2, n_plus_one_requests: 0, suspected_n_plus_one: false });
    });

    it('attributes API route queries to the route pattern, not the URL', async () => {

        await t.server.inject('/resources/00000000-0000-4000-8000-000000000001');
        await t.server.inject('/resources/00000000-0000-4000-8000-000000000002');
        const stats = await routeStats('GET /resources/{id}');
        expect(stats).to.include({ requests: 2, queries: 2 });
    });

    it('counts queries outside any request as background work', async () => {

        const before = await queriesReport();
        await t.server.inject('/test/queries/1');
        // After the request ended: not the route's any more.
        await t.server.knex.raw('SELECT 1');
        await t.server.knex.raw('SELECT 2');
        const after = await queriesReport();
        expect(after.background.queries).to.equal(before.background.queries + 2);
        const route = after.routes.find((entry: any) => entry.route === 'GET /test/queries/{q}');
        const earlier = before.routes.find((entry: any) => entry.route === 'GET /test/queries/{q}');
        expect(route.queries).to.equal(earlier.queries + 1);
    });

    it('counts the statements inside a transaction, not BEGIN and COMMIT', async () => {

        t.server.route({
            method: 'POST',
            path: '/test/transaction',
            handler: async (request) => {

                await request.knex.transaction(async (trx) => {

                    await trx.raw('SELECT 1');
                    await trx.raw('SELECT 2');
                });
                return { ok: true };
            }
        });

        expect((await t.server.inject({ method: 'POST', url: '/test/transaction' })).statusCode).to.equal(200);
        expect(await routeStats('POST /test/transaction')).to.include({ requests: 1, queries: 2 });
    });

    it('counts unknown paths under one entry', async () => {

        expect((await t.server.inject('/no/such/path')).statusCode).to.equal(404);
        expect(await routeStats('GET (no route)')).to.include({ requests: 1, queries: 0 });
    });

    it('limits the slow queries returned and rejects a bad limit', async () => {

        expect((await queriesReport('?slow_limit=0')).slow_queries).to.equal([]);
        expect((await queriesReport('?slow_limit=1')).slow_queries).to.have.length(1);
        for (const bad of ['-1', 'abc', '10001']) {
            const res = await t.server.inject({ url: `/monitoring/queries?slow_limit=${bad}`, headers: adminHeaders });
            expect(res.statusCode).to.equal(400);
            expect(JSON.parse(res.payload).message).to.contain('slow_limit');
        }
    });
});

describe('monitoring: slow-query log size', () => {

    it('keeps only the newest SLOW_QUERY_LOG_SIZE entries, newest first', async () => {

        const t = await createTestServer({ SLOW_QUERY_MS: '40', SLOW_QUERY_LOG_SIZE: '2' });
        try {
            const slow = await slowQueryOf(t.server.knex, 60);
            t.server.route({
                method: 'GET',
                path: '/test/slow/{n}',
                handler: async (request) => {

                    await request.knex.raw(slow.sql, slow.bindings);
                    return { n: request.params.n };
                }
            });

            const before = ((await t.server.inject({ url: '/monitoring/queries', headers: adminHeaders })).result as any).slow_queries_total;
            for (const n of [1, 2, 3]) {
                await t.server.inject({ url: `/test/slow/${n}`, headers: { 'x-request-id': `n${n}` } });
            }

            const report = (await t.server.inject({ url: '/monitoring/queries', headers: adminHeaders })).result as any;
            expect(report.slow_queries_total).to.equal(before + 3);
            expect(report.slow_queries.map((entry: any) => entry.request_id)).to.equal(['n3', 'n2']);
        }
        finally {
            await t.stop();
        }
    });
});

describe('monitoring: QUERY_ATTRIBUTION=0', () => {

    it('still counts requests per route but leaves every query, and slow ones, without a route', async () => {

        const t = await createTestServer({ QUERY_ATTRIBUTION: '0', SLOW_QUERY_MS: '40' });
        try {
            const slow = await slowQueryOf(t.server.knex, 60);
            t.server.route({
                method: 'GET',
                path: '/test/unattributed',
                handler: async (request) => {

                    await request.knex.raw(slow.sql, slow.bindings);
                    return { ok: true };
                }
            });

            const before = ((await t.server.inject({ url: '/monitoring/queries', headers: adminHeaders })).result as any).background.queries;
            await t.server.inject('/test/unattributed');
            await t.server.inject('/test/unattributed');
            const report = (await t.server.inject({ url: '/monitoring/queries', headers: adminHeaders })).result as any;
            expect(report.attribution).to.be.false();
            expect(report.routes.find((entry: any) => entry.route === 'GET /test/unattributed')).to.include({ requests: 2, queries: 0 });
            expect(report.background.queries).to.equal(before + 2);
            expect(report.slow_queries[0].route).to.be.null();
            expect(report.slow_queries[0].request_id).to.be.null();
        }
        finally {
            await t.stop();
        }
    });
});

describe('monitoring: attribution modes', () => {

    const routesOf = async (t: TestServer) => ((await t.server.inject({ url: '/monitoring/queries', headers: adminHeaders })).result as any);

    const addRoutes = (t: TestServer) => t.server.route([
        {
            // Objection through request.models, an eager load, and search.
            method: 'GET',
            path: '/test/models',
            handler: async (request) => {

                const { Resource } = request.models;
                await Resource.query().limit(2).withGraphFetched('annotations');
                await request.server.search.search({ query: 'attribution', limit: 5, offset: 0, knex: request.knex });
                return { ok: true };
            }
        },
        {
            // The shared instance, not the request's view.
            method: 'GET',
            path: '/test/shared',
            handler: async (request) => {

                await request.server.knex.raw('SELECT 1 AS one');
                await request.server.knex.raw('SELECT 2 AS two');
                return { ok: true };
            }
        }
    ]);

    // Both routes read-modify-write under a row lock in a transaction opened by
    // the model (Resource.transaction, Collection.transaction).
    for (const mode of ['request', 'async'] as const) {
        it(`${mode}: PATCH /resources/{id} and PATCH /collections/{id} count their transaction's statements for their route`, async () => {

            const t = await createTestServer({ QUERY_ATTRIBUTION: mode });
            try {
                const resource = await t.server.inject({ method: 'POST', url: '/resources', payload: { title: 'Attributed' } });
                const collection = await t.server.inject({ method: 'POST', url: '/collections', payload: { name: 'Attributed' } });
                expect([resource.statusCode, collection.statusCode]).to.equal([201, 201]);
                const background = (await routesOf(t)).background.queries;

                for (const [url, payload] of [
                    [`/resources/${(resource.result as any).id}`, { title: 'Renamed', subject_add: ['attribution'] }],
                    [`/collections/${(collection.result as any).id}`, { name: 'Renamed' }]
                ] as const) {
                    const res = await t.server.inject({ method: 'PATCH', url, payload });
                    expect(res.statusCode, res.payload).to.equal(200);
                }

                const report = await routesOf(t);
                for (const route of ['PATCH /resources/{id}', 'PATCH /collections/{id}']) {
                    const stats = report.routes.find((entry: any) => entry.route === route);
                    // The locked read, the update and the read-back (BEGIN/COMMIT are not counted).
                    expect(stats.requests, route).to.equal(1);
                    expect(stats.queries as number, route).to.be.at.least(3);
                }

                // The report request itself runs no application queries.
                expect(report.background.queries).to.equal(background);
            }
            finally {
                await t.stop();
            }
        });
    }

    it('request (default): stamped statements count for their route, the shared knex counts as background', async () => {

        const t = await createTestServer();
        try {
            addRoutes(t);
            const before = (await routesOf(t)).background.queries;
            expect((await t.server.inject('/test/models')).statusCode).to.equal(200);
            expect((await t.server.inject('/test/shared')).statusCode).to.equal(200);
            const report = await routesOf(t);
            expect(report).to.include({ attribution: true, attribution_mode: 'request' });
            const models = report.routes.find((entry: any) => entry.route === 'GET /test/models');
            // Two for the resources and their annotations, at least two for search.
            expect(models.requests).to.equal(1);
            expect(models.queries as number).to.be.at.least(4);
            expect(report.routes.find((entry: any) => entry.route === 'GET /test/shared')).to.include({ requests: 1, queries: 0 });
            expect(report.background.queries).to.equal(before + 2);
        }
        finally {
            await t.stop();
        }
    });

    it('async: AsyncLocalStorage also attributes the shared knex to the request', async () => {

        const t = await createTestServer({ QUERY_ATTRIBUTION: 'async' });
        try {
            addRoutes(t);
            const responses = await Promise.all([1, 2, 3].map(() => t.server.inject('/test/shared')));
            expect(responses.map((res) => res.statusCode)).to.equal([200, 200, 200]);
            const report = await routesOf(t);
            expect(report).to.include({ attribution: true, attribution_mode: 'async' });
            expect(report.routes.find((entry: any) => entry.route === 'GET /test/shared')).to.include({ requests: 3, queries: 6 });
        }
        finally {
            await t.stop();
        }
    });
});
