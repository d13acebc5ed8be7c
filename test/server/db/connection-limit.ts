import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { testDatabaseUrl } from '../../../server/config';
import { createDatabaseEngine } from '../../../server/db/engine';
import { prepareSessions } from '../../../server/db/sessions';
import type { DatabaseEngine } from '../../../server/db/types';
import { createTestDatabase, isPostgres, postgresOnly } from '../../helpers/database';
import { createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

describe('connection limit', () => {

    let admin: DatabaseEngine;
    let role: string;
    let limitedUrl: string;

    before(async () => {

        if (!isPostgres) {
            return;
        }

        // A role the server lets open two connections: what "too many
        // clients" looks like (SQLSTATE 53300) without touching the
        // server's max_connections.
        // The test database is rebuilt once per run: grant after that.
        await createTestDatabase();
        const url = new URL(testDatabaseUrl()!);
        role = `${decodeURIComponent(url.pathname.slice(1))}_limited`;
        admin = createDatabaseEngine(url.toString(), { min: 0, max: 1 });
        await admin.knex.raw('DROP OWNED BY ?? CASCADE', [role]).catch(() => {});
        await admin.knex.raw('DROP ROLE IF EXISTS ??', [role]);
        await admin.knex.raw('CREATE ROLE ?? LOGIN CONNECTION LIMIT 2', [role]);
        await admin.knex.raw('GRANT USAGE ON SCHEMA public TO ??', [role]);
        await admin.knex.raw('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ??', [role]);
        url.username = role;
        limitedUrl = url.toString();
    });

    after(async () => {

        if (!isPostgres) {
            return;
        }

        await admin.knex.raw('DROP OWNED BY ?? CASCADE', [role]);
        await admin.knex.raw('DROP ROLE IF EXISTS ??', [role]);
        await admin.destroy();
    });

    it('postgres only: answers 503 with Retry-After while the server refuses connections, then recovers', { ...postgresOnly, timeout: 30_000 }, async () => {

        let t: TestServer | null = null;
        let release!: () => void;
        const held = new Promise<void>((resolve) => {

            release = resolve;
        });
        try {
            t = await createTestServer({ DATABASE_URL: limitedUrl, DB_POOL_MAX: '5', DB_ACQUIRE_TIMEOUT_MS: '1000' });
            const server = t.server;
            // An ordinary role sets its own defaults, and start-up says the pool does not fit.
            const report = await prepareSessions(server.db, t.config.pool, null);
            expect(report.warnings.join('\n')).to.contain("DB_POOL_MAX is 5, but the server allows only 2 connections (the role's CONNECTION LIMIT 2)");

            // Both connections the role may have are busy.
            let open = 0;
            let bothOpen!: () => void;
            const ready = new Promise<void>((resolve) => {

                bothOpen = resolve;
            });
            const holders = [1, 2].map(() => server.knex.transaction(async (trx) => {

                await trx.raw('SELECT 1');
                if (++open === 2) {
                    bothOpen();
                }

                await held;
            }));
            await ready;

            const refused = await server.inject('/resources');
            expect(refused.statusCode).to.equal(503);
            expect(refused.headers['retry-after']).to.exist();
            expect(refused.payload).to.not.contain('too many');

            release();
            await Promise.all(holders);
            expect((await server.inject('/resources')).statusCode).to.equal(200);
        }
        finally {
            release();
            await t?.stop();
        }
    });
});
