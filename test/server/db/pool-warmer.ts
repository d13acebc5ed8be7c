import { randomUUID } from 'node:crypto';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import Knex from 'knex';

import { createPoolWarmer } from '../../../server/db/pool-warmer';
import { isPostgres, postgresOnly } from '../../helpers/database';
import { eventually } from '../../helpers/monitoring';
import { createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it } = lab;

const MIN = isPostgres ? 3 : 1;

/** Open connections of the server's pool, and on PostgreSQL the server's own count of them. */
async function openConnections(t: TestServer, applicationName: string): Promise<{ pool: number; backends: number | null }> {

    const pool = t.server.knex.client.pool as { numUsed(): number; numFree(): number };
    if (!isPostgres) {
        return { pool: pool.numUsed() + pool.numFree(), backends: null };
    }

    // Asked on a connection of its own, so the count is not one of the pool's.
    const knex = Knex({ client: 'pg', connection: t.database.url, pool: { min: 0, max: 1 } });
    try {
        const { rows: [row] } = await knex.raw('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = ?', [applicationName]);
        return { pool: pool.numUsed() + pool.numFree(), backends: Number(row.n) };
    }
    finally {
        await knex.destroy();
    }
}

describe('db-engine: the kept base of the pool', () => {

    it('is open once the server has started, before any request', async () => {

        const name = `na-warm-${randomUUID().slice(0, 8)}`;
        const t = await createTestServer({ DB_POOL_MIN: String(MIN), DB_POOL_MAX: String(MIN + 2), DB_APPLICATION_NAME: name });
        try {
            expect(await openConnections(t, name)).to.equal({ pool: MIN, backends: isPostgres ? MIN : null });
        }
        finally {
            await t.stop();
        }
    });

    it('postgres only: is opened again after recycled connections close', { ...postgresOnly, timeout: 20_000 }, async () => {

        const name = `na-warm-${randomUUID().slice(0, 8)}`;
        const t = await createTestServer({ DB_POOL_MIN: String(MIN), DB_POOL_MAX: String(MIN + 2), DB_POOL_RECYCLE_S: '1', DB_APPLICATION_NAME: name });
        try {
            // Past their lifetime (1 s + up to 0.1 s jitter), the kept
            // connections are closed when next checked out; the request
            // opens the one it needs, the warmer the rest.
            await new Promise((resolve) => setTimeout(resolve, 1500));
            expect((await t.server.inject('/resources?limit=1')).statusCode).to.equal(200);
            await eventually(async () => {

                const open = await openConnections(t, name);
                // A request may open one more meanwhile (closed again when idle).
                return open.pool >= MIN && open.backends === open.pool ? open : undefined;
            }, 5000, `${MIN} open connections`);
        }
        finally {
            await t.stop();
        }
    });

    it('reports connections it cannot open in one line per attempt, and stops refilling when stopped', async () => {

        // Nothing listens on port 1: every connection is refused at once.
        const quiet = () => {};
        const knex = Knex({
            client: 'pg',
            connection: 'postgres://postgres@127.0.0.1:1/none',
            pool: { min: 3, max: 4 },
            acquireConnectionTimeout: 2000,
            log: { warn: quiet, error: quiet, deprecate: quiet, debug: quiet }
        });
        const errors: Array<[string, number]> = [];
        const warmer = createPoolWarmer(knex, (error, failures) => errors.push([(error as Error).message, failures]));
        try {
            await warmer.warm();
            expect(errors).to.have.length(1);
            expect(errors[0]![0]).to.contain('ECONNREFUSED');
            expect(errors[0]![1]).to.equal(3);
        }
        finally {
            warmer.stop();
            await knex.destroy();
        }

        await warmer.warm();
        expect(errors).to.have.length(1);
    });
});
