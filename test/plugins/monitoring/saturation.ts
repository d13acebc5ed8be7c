import { performance } from 'node:perf_hooks';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { isPostgres } from '../../helpers/database';
import { eventually, holdConnections, release, slowQueryOf } from '../../helpers/monitoring';
import { adminHeaders, createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after, beforeEach } = lab;

const ACQUIRE_TIMEOUT_MS = 400;
const POOL_MAX = isPostgres ? 2 : 1;
const MISSING = '/resources/00000000-0000-4000-8000-00000000abcd';

describe('monitoring: a saturated pool', () => {

    let t: TestServer;
    const warnings: any[] = [];

    const database = async () => (await t.server.inject({ url: '/monitoring/database', headers: adminHeaders })).result as Record<string, any>;

    before(async () => {

        t = await createTestServer({ DB_POOL_MIN: '0', DB_POOL_MAX: String(POOL_MAX), DB_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_TIMEOUT_MS) });
        t.server.events.on('log', (event) => {

            if (event.tags.includes('pool')) {
                warnings.push({ tags: event.tags, ...(event.data as object) });
            }
        });
        t.server.events.on({ name: 'request', channels: 'app' }, (_request, event) => {

            if (event.tags.includes('pool')) {
                warnings.push({ tags: event.tags, ...(event.data as object) });
            }
        });
    });

    after(async () => {

        await t.stop();
    });

    beforeEach(() => {

        warnings.length = 0;
    });

    it('answers 503 with Retry-After within the acquire timeout, never a 500 or a hang', async () => {

        const before = (await database()).pool.acquire_timeouts;
        const held = await holdConnections(t.server.knex, POOL_MAX);
        let responses;
        const started = performance.now();
        try {
            responses = await Promise.all(Array.from({ length: 8 }, () => t.server.inject(MISSING)));
        }
        finally {
            await release(held);
        }

        const took = performance.now() - started;
        // A generous upper bound for a busy machine; a hang would be stopped by the 10 s test timeout.
        expect(took as number).to.be.within(ACQUIRE_TIMEOUT_MS - 50, ACQUIRE_TIMEOUT_MS + 3000);
        for (const res of responses) {
            expect(res.statusCode).to.equal(503);
            expect(res.headers['retry-after']).to.equal('1');
            const body = JSON.parse(res.payload);
            expect(body.message).to.equal('The database is busy: no connection became free in time. Retry shortly.');
            expect(res.payload).to.not.match(/select|knex|pool is probably full/i);
        }

        expect((await database()).pool.acquire_timeouts).to.equal(before + 8);
    });

    it('recovers by itself once the load drops', async () => {

        const held = await holdConnections(t.server.knex, POOL_MAX);
        expect((await t.server.inject(MISSING)).statusCode).to.equal(503);
        await release(held);

        expect((await t.server.inject(MISSING)).statusCode).to.equal(404);
        const created = await t.server.inject({ method: 'POST', url: '/resources', payload: { title: 'After the storm' } });
        expect(created.statusCode).to.equal(201);
        const pool = (await database()).pool;
        expect(pool.in_use).to.equal(0);
        expect(pool.waiting).to.equal(0);
    });

    it('turns slow queries that hold every connection into 503s for the requests that cannot get one', async () => {

        const slow = await slowQueryOf(t.server.knex, ACQUIRE_TIMEOUT_MS * 2);
        t.server.route({
            method: 'GET',
            path: '/test/saturate',
            handler: async (request) => {

                await request.knex.raw(slow.sql, slow.bindings);
                return { ok: true };
            }
        });

        const responses = await Promise.all(Array.from({ length: POOL_MAX + 3 }, () => t.server.inject('/test/saturate')));
        const codes = responses.map((res) => res.statusCode).sort();
        expect(codes).to.equal([...Array(POOL_MAX).fill(200), 503, 503, 503]);
        for (const res of responses.filter((res) => res.statusCode === 503)) {
            expect(res.headers['retry-after']).to.equal('1');
        }

        expect((await t.server.inject('/test/saturate')).statusCode).to.equal(200);
    });

    it('logs one rate-limited warning when the pool passes 90 % in use', async () => {

        const held = await holdConnections(t.server.knex, POOL_MAX);
        try {
            // SQLite's one connection is "full" whenever it works; it warns only once two requests wait.
            await Promise.all([t.server.inject(MISSING), t.server.inject(MISSING)]);
        }
        finally {
            await release(held);
        }

        // The earlier tests of this file already warned within the interval.
        const fresh = await createTestServer({ DB_POOL_MIN: '0', DB_POOL_MAX: String(POOL_MAX), DB_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_TIMEOUT_MS) });
        const seen: any[] = [];
        fresh.server.events.on('log', (event) => event.tags.includes('pool') && seen.push({ tags: event.tags, ...(event.data as object) }));
        fresh.server.events.on({ name: 'request', channels: 'app' }, (_request, event) => event.tags.includes('pool') && seen.push({ tags: event.tags, ...(event.data as object) }));
        try {
            const trxs = await holdConnections(fresh.server.knex, POOL_MAX);
            try {
                await Promise.all([fresh.server.inject(MISSING), fresh.server.inject(MISSING)]);
            }
            finally {
                await release(trxs);
            }
        }
        finally {
            await fresh.stop();
        }

        expect(seen).to.have.length(1);
        const [warning] = seen;
        expect(warning.tags).to.include(['db', 'pool', 'warn']);
        expect(warning.max).to.equal(POOL_MAX);
        expect(warning.in_use).to.equal(POOL_MAX);
        expect(warning.utilization_percent).to.equal(100);
        expect(warning.waiting).to.equal(isPostgres ? 0 : 2);
        expect(warning.suppressed).to.equal(0);
        expect(warning.msg).to.contain('100 % in use');
    });

    it('does not warn for the first requests of a fresh server, nor for one request queued on a one-connection pool', async () => {

        const fresh = await createTestServer({ DB_POOL_MIN: '0', DB_POOL_MAX: isPostgres ? '10' : '1' }, { seed: true });
        const seen: unknown[] = [];
        fresh.server.events.on('log', (event) => event.tags.includes('pool') && seen.push(event.data));
        fresh.server.events.on({ name: 'request', channels: 'app' }, (_request, event) => event.tags.includes('pool') && seen.push(event.data));
        try {
            for (const url of ['/resources', '/collections', '/search?q=history']) {
                expect((await fresh.server.inject(url)).statusCode, url).to.equal(200);
            }

            const held = await holdConnections(fresh.server.knex, 1);
            const queued = fresh.server.inject(MISSING);
            try {
                await eventually(() => ((fresh.server.knex.client.pool as any).numPendingAcquires() === (isPostgres ? 0 : 1) ? true : undefined), 2000, 'the request queued');
            }
            finally {
                await release(held);
            }

            expect((await queued).statusCode).to.equal(404);
        }
        finally {
            await fresh.stop();
        }

        expect(seen).to.equal([]);
    });

    it('does not warn while the pool stays at or under 90 %', async () => {

        const roomy = await createTestServer({ DB_POOL_MIN: '0', DB_POOL_MAX: '10' });
        const seen: unknown[] = [];
        roomy.server.events.on('log', (event) => event.tags.includes('pool') && seen.push(event));
        try {
            const trxs = await holdConnections(roomy.server.knex, isPostgres ? 9 : 1);
            await release(trxs);
        }
        finally {
            await roomy.stop();
        }

        expect(seen).to.equal([]);
    });
});
