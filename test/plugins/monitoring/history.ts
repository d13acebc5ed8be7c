import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import Knex from 'knex';

import type { DatabaseReport } from '../../../plugins/monitoring/database-status';
import { HISTORY_TOP_ROUTES, MetricsHistory, percentile } from '../../../plugins/monitoring/history';
import type { QueryReport } from '../../../plugins/monitoring/query-monitor';
import { isPostgres, sqliteOnly } from '../../helpers/database';
import { eventually } from '../../helpers/monitoring';
import { adminHeaders, createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;


const report = (inUse: number, extra: Partial<DatabaseReport> = {}): DatabaseReport => ({
    database_type: 'postgres',
    version: '15',
    target: 'x',
    sampled_at: '',
    stats_age_s: 0,
    pool: { in_use: inUse, waiting: 0, acquire: { p95_ms: 1.5 } } as any,
    postgres: { transactions_per_second: 12.5, cache_hit_ratio: 0.99 },
    ...extra
});

const queries = (slowTotal: number) => ({ slow_queries_total: slowTotal }) as QueryReport;

describe('monitoring: history for the charts', () => {

    it('takes the nearest-rank percentile', () => {

        expect(percentile([], 0.95)).to.equal(0);
        expect(percentile([5], 0.95)).to.equal(5);
        expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.95)).to.equal(95);
    });

    it('turns requests and samples into rates, p95s and columns, busiest routes first', () => {

        const history = new MetricsHistory(10);
        const start = Date.now() - 20_000;
        history.sample(report(1), queries(3), start);
        for (let i = 1; i <= 100; ++i) {
            history.record('GET /resources/{id}', i);
        }

        for (let i = 0; i < 10; ++i) {
            history.record('PATCH /resources/{id}', 50);
            history.record('GET /console/assets/{file}', 1);
        }

        history.sample(report(4), queries(8), start + 10_000);
        const read = history.read(60, start + 10_000);
        expect(read.t).to.equal([Math.round(start / 1000), Math.round((start + 10_000) / 1000)]);
        const series = Object.fromEntries(read.series.map((entry) => [entry.name, entry.values]));
        expect(series.pool_in_use).to.equal([1, 4]);
        expect(series.requests_per_s![1]).to.equal(12);
        expect(series.slow_queries_per_min).to.equal([null, 30]);
        expect(series.transactions_per_s).to.equal([12.5, 12.5]);
        expect(series.wal_bytes).to.equal([null, null]);
        expect(read.routes.map((route) => route.route)).to.equal(['GET /resources/{id}', 'PATCH /resources/{id}']);
        expect(read.routes[0]!.requests_per_s).to.equal([0, 10]);
        expect(read.routes[0]!.p95_ms).to.equal([null, 95]);
    });

    it('turns SQLite busy and locked error counts into rates per minute between samples', () => {

        const history = new MetricsHistory(10);
        const start = Date.now() - 30_000;
        const lite = (busy: number, locked: number) => report(1, { database_type: 'sqlite', postgres: undefined, sqlite: { busy_errors: busy, locked_errors: locked, wal_size_bytes: 8 } });
        history.sample(lite(2, 0), queries(0), start);
        history.sample(lite(7, 1), queries(0), start + 10_000);
        history.sample(lite(7, 1), queries(0), start + 20_000);
        const series = Object.fromEntries(history.read(60, start + 20_000).series.map((entry) => [entry.name, entry.values]));
        expect(series.sqlite_busy_per_min).to.equal([null, 30, 0]);
        expect(series.sqlite_locked_per_min).to.equal([null, 6, 0]);
        // PostgreSQL has neither.
        const pg = new MetricsHistory(10);
        pg.sample(report(1), queries(0), start);
        pg.sample(report(1), queries(0), start + 10_000);
        expect(pg.read(60, start + 10_000).series.find((entry) => entry.name === 'sqlite_busy_per_min')!.values).to.equal([null, null]);
    });

    it('keeps a bounded ring: the oldest samples go first', () => {

        const history = new MetricsHistory(3);
        const start = Date.now() - 60_000;
        for (let i = 0; i < 5; ++i) {
            history.sample(report(i), queries(0), start + i * 5000);
        }

        const read = history.read(60, start + 20_000);
        expect(read.series.find((entry) => entry.name === 'pool_in_use')!.values).to.equal([2, 3, 4]);
        expect(read.routes.length).to.be.at.most(HISTORY_TOP_ROUTES);
    });

    describe('GET /monitoring/history on a started server', () => {

        let t: TestServer;

        before(async () => {

            t = await createTestServer({ PORT: '0', HOST: '127.0.0.1' });
            await t.server.start();
        });

        after(async () => {

            await t.stop();
        });

        it('needs the admin token and validates its window', async () => {

            expect((await t.server.inject('/monitoring/history')).statusCode).to.equal(401);
            expect((await t.server.inject({ url: '/monitoring/history?minutes=0', headers: adminHeaders })).statusCode).to.equal(400);
            expect((await t.server.inject({ url: '/monitoring/history?minutes=61', headers: adminHeaders })).statusCode).to.equal(400);
        });

        it('samples from the start, with the dialect\'s own series filled', async () => {

            const body = await eventually(async () => {

                const res = await t.server.inject({ url: '/monitoring/history', headers: adminHeaders });
                expect(res.statusCode).to.equal(200);
                const result = res.result as any;
                return result.t.length ? result : undefined;
            }, 5_000, 'the first sample');
            expect(body.interval_s).to.equal(5);
            const series = Object.fromEntries(body.series.map((entry: any) => [entry.name, entry.values]));
            expect(series.pool_in_use[0]).to.be.a.number();
            if (isPostgres) {
                expect(series.cache_hit_ratio[0]).to.be.a.number();
                expect(series.wal_bytes[0]).to.be.null();
            }
            else {
                expect(series.wal_bytes[0]).to.be.a.number();
                expect(series.transactions_per_s[0]).to.be.null();
            }
        });

        it('sqlite only: charts a statement that met SQLITE_BUSY while another process held the write lock', sqliteOnly, async () => {

            const busy = await createTestServer({ SQLITE_BUSY_TIMEOUT_MS: '50', PORT: '0', HOST: '127.0.0.1' });
            await busy.server.start();
            const filename = (busy.server.knex.client.config.connection as { filename: string }).filename;
            const other = Knex({ client: 'sqlite3', connection: { filename }, useNullAsDefault: true, pool: { min: 1, max: 1 } });
            try {
                const series = async () => {

                    const body = (await busy.server.inject({ url: '/monitoring/history', headers: adminHeaders })).result as any;
                    return body.series.find((entry: any) => entry.name === 'sqlite_busy_per_min').values as Array<number | null>;
                };

                // A first sample, so the next one has a count to compare with.
                await eventually(async () => ((await series()).length ? true : undefined), 5_000, 'the first sample');
                await other.raw('BEGIN IMMEDIATE');
                const res = await busy.server.inject({ method: 'POST', url: '/resources', payload: { title: 'Blocked' } });
                expect(res.statusCode).to.equal(503);
                await other.raw('ROLLBACK');
                const values = await eventually(async () => {

                    const found = await series();
                    return found.some((value) => value !== null && value > 0) ? found : undefined;
                }, 15_000, 'a busy rate above zero');
                expect(values.filter((value) => value !== null && value > 0)).to.have.length(1);
            }
            finally {
                await other.destroy();
                await busy.stop();
            }
        });
    });
});
