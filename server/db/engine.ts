// createDatabaseEngine: the one place that turns a DATABASE_URL into a
// configured knex instance for its dialect.

import Knex, { type Knex as KnexType } from 'knex';

import type { PoolOverrides } from '../config';
import { postgres } from './dialects/postgres';
import { sqlite } from './dialects/sqlite';
import type { ConnectionKind, DatabaseEngine, Dialect, RawQuery } from './types';
import { connectionTarget, displayTarget, getDatabaseType, isInMemory, parseDatabaseUrl, redactSecrets, type DatabaseType } from './url';

export { getDatabaseType };

const dialects: Record<DatabaseType, Dialect> = { sqlite, postgres };

export function dialectFor(type: DatabaseType): Dialect {

    return dialects[type];
}

// The knex client names of PostgreSQL; any other client is SQLite's.
const POSTGRES_CLIENTS = new Set(['pg', 'postgres', 'postgresql']);

/** The dialect of an existing knex instance (used by migrations and seeds). */
export function dialectOf(knex: KnexType): Dialect {

    return dialects[POSTGRES_CLIENTS.has(String(knex.client.config.client)) ? 'postgres' : 'sqlite'];
}

export interface EngineOptions {
    /** Relative SQLite paths resolve against this directory. */
    baseDir?: string;
    /** Knex query-builder logger overrides (the monitoring plugin installs its own hooks). */
    log?: KnexType.Config['log'];
    /** `pooled` (default: safe behind PgBouncer) or `direct` (the server itself; settings sent at connect). */
    kind?: ConnectionKind;
}

export function createDatabaseEngine(url: string, overrides: PoolOverrides = {}, options: EngineOptions = {}): DatabaseEngine {

    const parsed = parseDatabaseUrl(url, options.baseDir);
    const dialect = dialects[parsed.type];
    const target = connectionTarget(parsed);
    dialect.prepareTarget(target);

    const kind = options.kind ?? 'pooled';
    const config = dialect.knexConfig(target, overrides, kind);
    config.log = options.log ?? quietLog;
    const knex = Knex(config);

    let destroyed: Promise<void> | null = null;
    const engine: DatabaseEngine & { namedStatements: boolean } = {
        type: parsed.type,
        kind,
        knex,
        dialect,
        target: displayTarget(parsed),
        inMemory: isInMemory(parsed),
        pool: dialect.poolSettings(overrides),
        // Off until prepareSessions has checked that the connections reach the server.
        namedStatements: false,
        prepared(query, name) {

            // The one place a statement gets a name (test/server/pooler-safety.ts allows it here only).
            return engine.namedStatements ? query.options({ name }) : query;
        },
        destroy() {

            destroyed ??= knex.destroy();
            return destroyed;
        }
    };
    return engine;
}

export class NotDirectError extends Error {

    constructor(target: string) {

        super(`${target} is not PostgreSQL itself: the session settings sent at connect were dropped, as a connection pooler (PgBouncer with ignore_startup_parameters = options) does. ` +
            'Migrations, backups, restores and data migration need a direct connection: set DATABASE_DIRECT_URL to the PostgreSQL server');
        this.name = 'NotDirectError';
    }
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

    await withRawConnection(engine, async (query) => {

        // A direct engine must reach the server itself, not a pooler that dropped its settings.
        if (engine.kind === 'direct' && !await engine.dialect.reachedServer(query)) {
            throw new NotDirectError(engine.target);
        }
    });
}

/** What to tell the operator about a failed connection attempt. */
export function connectionFailureReason(error: unknown): string {

    const reason = redactSecrets((error as Error)?.message ?? String(error));
    if (/database "[^"]+" does not exist/.test(reason)) {
        return `${reason} (create it first, for example with createdb)`;
    }

    if (/unsupported startup parameter/.test(reason)) {
        return `${reason}: this is a connection pooler (PgBouncer), not PostgreSQL itself. ` +
            'Migrations, backups, restores and data migration need a direct connection: set DATABASE_DIRECT_URL to the PostgreSQL server';
    }

    return reason;
}

interface RawClient {
    acquireRawConnection(): Promise<{ query(sql: string, bindings?: readonly unknown[]): Promise<{ rows: Array<Record<string, unknown>> }> }>;
    destroyRawConnection(connection: unknown): Promise<void>;
}

/**
 * Runs work on one connection opened outside the pool and closed afterwards,
 * so a wrong host, password or database name is reported as what it is, at
 * once, instead of as a pool timeout later, and settings changed through it
 * reach every pooled connection opened after it.
 */
export async function withRawConnection<T>(engine: DatabaseEngine, work: (query: RawQuery) => Promise<T>): Promise<T> {

    const client = engine.knex.client as unknown as RawClient;
    let connection: Awaited<ReturnType<RawClient['acquireRawConnection']>>;
    try {
        connection = await client.acquireRawConnection();
        await engine.dialect.probeConnection(connection);
    }
    catch (error) {
        if (connection!) {
            await client.destroyRawConnection(connection).catch(() => {});
        }

        const reason = connectionFailureReason(error);
        throw new DatabaseUnreachableError(engine.target, `${reason}${engine.dialect.connectionHint(engine.target, reason)}`);
    }

    try {
        return await work(async (sql, bindings) => (await connection.query(sql, bindings as unknown[])).rows ?? []);
    }
    finally {
        await client.destroyRawConnection(connection);
    }
}

// knex logs some warnings to the console by default; route them nowhere
// unless a logger is given (the server passes its own).
const quietLog: KnexType.Config['log'] = {
    warn() {},
    error() {},
    deprecate() {},
    debug() {}
};
