import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import type { Plugin } from '@hapi/hapi';

import { eventually, sleep } from '../../helpers/monitoring';
import { adminHeaders, createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const ROUTE = 'GET /test/slow-transaction';

// A route that opens a transaction, runs a statement, thinks for a while with
// the transaction open, then runs another: idle in transaction, as PostgreSQL
// would show it, but with the route that did it.
const slowTransaction: Plugin<void> = {
    name: 'test-slow-transaction',
    register(server) {

        server.route({
            method: 'GET',
            path: '/test/slow-transaction',
            async handler(request) {

                await request.server.knex.transaction(async (trx) => {

                    await trx('users').count({ n: '*' });
                    await sleep(300);
                    await trx('users').count({ n: '*' });
                });
                return { ok: true };
            }
        });
    }
};

describe('monitoring: connections held per route', () => {

    let t: TestServer;

    const connections = async () => {

        const res = await t.server.inject({ url: '/monitoring/connections', headers: adminHeaders });
        expect(res.statusCode).to.equal(200);
        return res.result as any;
    };

    before(async () => {

        // One connection, so the second request waits for the first; async
        // attribution reaches the queries of server.knex inside a request.
        t = await createTestServer({ DB_POOL_MIN: '0', DB_POOL_MAX: '1', QUERY_ATTRIBUTION: 'async' }, { plugins: [slowTransaction] });
    });

    after(async () => {

        await t.stop();
    });

    it('needs the admin token', async () => {

        expect((await t.server.inject('/monitoring/connections')).statusCode).to.equal(401);
    });

    it('shows the route holding a connection now, then its wait, hold and idle-in-transaction times', { timeout: 15_000 }, async () => {

        const first = t.server.inject('/test/slow-transaction');
        const second = t.server.inject('/test/slow-transaction');
        const now = await eventually(async () => {

            const report = await connections();
            return report.held_now.find((entry: any) => entry.route === ROUTE && entry.longest_hold_ms >= 50) ? report : undefined;
        }, 5_000, 'the route in held_now');
        expect(now.held_now.find((entry: any) => entry.route === ROUTE).connections).to.equal(1);

        expect((await first).statusCode).to.equal(200);
        expect((await second).statusCode).to.equal(200);
        const report = await connections();
        const row = report.routes.find((entry: any) => entry.route === ROUTE);
        expect(row, JSON.stringify(report)).to.exist();
        expect(row.acquires).to.equal(2);
        // The second request waited for the first one's transaction.
        expect(Number(row.acquire_wait_max_ms)).to.be.at.least(200);
        expect(Number(row.hold_max_ms)).to.be.at.least(280);
        expect(Number(row.idle_in_transaction_max_ms)).to.be.at.least(250);
        expect(Number(row.idle_in_transaction_max_ms)).to.be.below(row.hold_max_ms);
        expect(report.held_now.find((entry: any) => entry.route === ROUTE)).to.not.exist();

        const panel = await t.server.inject({ url: '/console/panels/pool', headers: adminHeaders });
        expect(panel.payload).to.contain('Connections by route');
        expect(panel.payload).to.contain(ROUTE);
    });
});
