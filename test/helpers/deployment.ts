// Several instances of one deployment, as a load balancer would see them:
// composed servers on one test database with the same SESSION_SECRET,
// initialised but not listening.

import type { Server } from '@hapi/hapi';

import { loadConfig, type Env } from '../../server/config';
import { createServer, prepareDatabase } from '../../server/index';
import { createTestDatabase, type TestDatabase } from './database';
import { TEST_ADMIN_TOKEN, TEST_SESSION_SECRET } from './server';

export interface Deployment {
    database: TestDatabase;
    /** Starts (initialises) one more instance; `env` overrides this instance's environment. */
    instance(env?: Env): Promise<Server>;
    /** Stops one instance (a restart is stop + instance()). */
    stopInstance(server: Server): Promise<void>;
    /** Stops every instance and removes the database. */
    stop(): Promise<void>;
}

export async function createDeployment(env: Env = {}): Promise<Deployment> {

    const database = await createTestDatabase();
    const servers = new Set<Server>();
    const base: Env = {
        NODE_ENV: 'test', DATABASE_URL: database.url, ADMIN_TOKEN: TEST_ADMIN_TOKEN, SESSION_SECRET: TEST_SESSION_SECRET,
        AUTO_MIGRATE: '1', SEED_DEMO: '0', DB_POOL_MIN: '0', DB_POOL_MAX: '3', LOG_LEVEL: 'silent', ...env
    };

    return {
        database,
        async instance(overrides: Env = {}) {

            const config = loadConfig({ ...base, ...overrides });
            const server = await createServer(config);
            await prepareDatabase(server, config);
            await server.initialize();
            servers.add(server);
            return server;
        },
        async stopInstance(server) {

            servers.delete(server);
            await server.stop();
        },
        async stop() {

            for (const server of servers) {
                await server.stop();
            }

            servers.clear();
            await database.cleanup();
        }
    };
}
