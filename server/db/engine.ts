// createDatabaseEngine: the one place that turns a DATABASE_URL into a
// configured knex instance for its dialect.

import Fs from 'node:fs';
import Path from 'node:path';
import Knex, { type Knex as KnexType } from 'knex';

import type { PoolOverrides } from '../config';
import { makeDirectorySync } from '../fs';
import { postgres } from './dialects/postgres';
import { sqlite } from './dialects/sqlite';
import type { DatabaseEngine, Dialect } from './types';
import { getDatabaseType, parseDatabaseUrl, redactSecrets, redactUrl, type DatabaseType } from './url';

export { getDatabaseType };

const dialects: Record<DatabaseType, Dialect> = { sqlite, postgres };

export function dialectFor(type: DatabaseType): Dialect {

    return dialects[type];
}

/** The dialect of an existing knex instance (used by migrations and seeds). */
export function dialectOf(knex: KnexType): Dialect {

    const client = String(knex.client.config.client);
    return client === 'pg' || client === 'postgres' || client === 'postgresql' ? postgres : sqlite;
}

export interface EngineOptions {
    /** Relative SQLite paths resolve against this directory. */
    baseDir?: string;
    /** Knex query-builder logger overrides (the monitoring plugin installs its own hooks). */
    log?: KnexType.Config['log'];
}

export function createDatabaseEngine(url: string, overrides: PoolOverrides = {}, options: EngineOptions = {}): DatabaseEngine {

    const parsed = parseDatabaseUrl(url, options.baseDir);
    const dialect = dialects[parsed.type];

    let target: string;
    if (parsed.type === 'sqlite') {
        target = parsed.filename;
        if (target !== ':memory:') {
            try {
                makeDirectorySync(Path.dirname(target));
            }
            catch (error) {
                throw new Error(`cannot create the directory of the SQLite database ${target}: ${(error as Error).message}`);
            }
        }
    }
    else {
        target = parsed.connectionString;
    }

    const config = dialect.knexConfig(target, overrides);
    config.log = options.log ?? quietLog;
    const knex = Knex(config);

    let destroyed: Promise<void> | null = null;
    return {
        type: parsed.type,
        knex,
        dialect,
        target: parsed.type === 'sqlite' ? `sqlite:${target}` : redactUrl(target),
        pool: dialect.poolSettings(overrides),
        destroy() {

            destroyed ??= knex.destroy();
            return destroyed;
        }
    };
}

export class DatabaseUnreachableError extends Error {

    constructor(target: string, readonly reason: string) {

        super(`cannot connect to the database ${target}: ${reason}`);
        this.name = 'DatabaseUnreachableError';
    }
}

/**
 * Opens one connection outside the pool and closes it again, so a wrong host,
 * password or database name is reported as what it is, at once, instead of
 * as a pool timeout later.
 */
export async function checkConnection(engine: DatabaseEngine): Promise<void> {

    const client = engine.knex.client as { acquireRawConnection(): Promise<unknown>; destroyRawConnection(connection: unknown): Promise<void> };
    let connection: unknown;
    try {
        connection = await client.acquireRawConnection();
        await engine.dialect.probeConnection(connection);
    }
    catch (error) {
        if (connection) {
            await client.destroyRawConnection(connection).catch(() => {});
        }

        const reason = redactSecrets((error as Error).message ?? String(error));
        throw new DatabaseUnreachableError(engine.target, `${reason}${engine.dialect.connectionHint(engine.target, reason)}`);
    }

    await client.destroyRawConnection(connection);
}

// knex logs some warnings to the console by default; route them nowhere
// unless a logger is given (the server passes its own).
const quietLog: KnexType.Config['log'] = {
    warn() {},
    error() {},
    deprecate() {},
    debug() {}
};
