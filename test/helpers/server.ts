// A composed server on a fresh test database, initialised but not listening.

import type { Plugin, Server } from '@hapi/hapi';

import { loadConfig, type Config, type Env } from '../../server/config';
import { createServer, prepareDatabase } from '../../server/index';
import { createTestDatabase, type TestDatabase } from './database';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';
/** One secret for every test server, as for every instance of one deployment. */
export const TEST_SESSION_SECRET = 'test-session-secret-0123456789-abcdefghijklmnop';

export interface TestServer {
    server: Server;
    config: Config;
    database: TestDatabase;
    /** Stops the server (destroying its pool) and removes the test database. */
    stop(): Promise<void>;
}

export interface TestServerOptions {
    /** Load the demo library. */
    seed?: boolean;
    /** Extra plugins registered after composition, before initialize (test panels, fakes). */
    plugins?: Array<Plugin<any>>;
    /** Stop before server.initialize() (to test start-up failures). Default true. */
    initialize?: boolean;
}

/**
 * Builds a server the way `npm start` does, on a fresh test database.
 * `env` overrides the test environment (for example ENABLE_CONSOLE=0).
 */
export async function createTestServer(env: Env = {}, options: TestServerOptions = {}): Promise<TestServer> {

    const database = await createTestDatabase();
    const config = loadConfig({
        NODE_ENV: 'test',
        DATABASE_URL: database.url,
        ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        SESSION_SECRET: TEST_SESSION_SECRET,
        AUTO_MIGRATE: '1',
        SEED_DEMO: options.seed ? '1' : '0',
        // Small pools keep the PostgreSQL suite light; tests that need more say so.
        DB_POOL_MIN: '0',
        DB_POOL_MAX: '10',
        BACKUP_DIR: `./backups/test-${process.pid}`,
        ...env
    });

    const server = await createServer(config);
    for (const plugin of options.plugins ?? []) {
        await server.register(plugin);
    }

    await prepareDatabase(server, config);
    if (options.initialize ?? true) {
        await server.initialize();
    }

    return {
        server,
        config,
        database,
        async stop() {

            await server.stop();
            await database.cleanup();
        }
    };
}

export const adminHeaders = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
