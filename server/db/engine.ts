// createDatabaseEngine: the one place that turns a DATABASE_URL into a
// configured knex instance for its dialect.

import Fs from 'node:fs';
import Path from 'node:path';
import Knex, { type Knex as KnexType } from 'knex';
import Pg from 'pg';

import type { Config, PoolOverrides } from '../config';
import { makeDirectorySync } from '../fs';
import { DIRECT_MARKER, postgres } from './dialects/postgres';
import { sqlite } from './dialects/sqlite';
import type { ConnectionKind, DatabaseEngine, Dialect, RawQuery } from './types';
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
    /** `pooled` (default: safe behind PgBouncer) or `direct` (the server itself; settings sent at connect). */
    kind?: ConnectionKind;
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
        target: parsed.type === 'sqlite' ? `sqlite:${target}` : redactUrl(target),
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
        if (engine.type === 'postgres' && engine.kind === 'direct') {
            const [row] = await query('SELECT current_setting($1, true) AS marker', [DIRECT_MARKER]);
            if (row?.marker !== 'on') {
                throw new NotDirectError(engine.target);
            }
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
async function withRawConnection<T>(engine: DatabaseEngine, work: (query: RawQuery) => Promise<T>): Promise<T> {

    const client = engine.knex.client as unknown as RawClient;
    let connection: Awaited<ReturnType<RawClient['acquireRawConnection']>>;
    try {
        connection = await client.acquireRawConnection();
    }
    catch (error) {
        throw new DatabaseUnreachableError(engine.target, connectionFailureReason(error));
    }

    try {
        return await work(async (sql, bindings) => (await connection.query(sql, bindings as unknown[])).rows ?? []);
    }
    finally {
        await client.destroyRawConnection(connection);
    }
}

/** What preparing the sessions of a pooled engine found. */
export interface SessionReport {
    /** Settings whose role default this start changed. */
    changed: string[];
    /** Problems the operator should hear about at start-up. */
    warnings: string[];
}

/**
 * Makes the engine's session settings hold on every pooled connection, also
 * behind a transaction-mode pooler, checks that a pooled connection shows
 * them, and that the pool fits what the server allows. `direct` is the
 * server itself when `engine` goes through a pooler (null: it does not); the
 * defaults are changed there, since a connection through the pooler would
 * leave it a server connection that keeps the old values. Call before the
 * pool has opened connections (they keep the settings they were opened with).
 */
export async function prepareSessions(engine: DatabaseEngine, overrides: PoolOverrides, direct: DatabaseEngine | null): Promise<SessionReport> {

    const report: SessionReport = { changed: [], warnings: [] };
    try {
        report.changed = await withRawConnection(direct ?? engine, (query) => engine.dialect.applySessionDefaults(query, overrides));
    }
    catch (error) {
        if (error instanceof DatabaseUnreachableError) {
            throw error;
        }

        report.warnings.push(`Could not make the session settings this role's defaults in the database (${redactSecrets((error as Error).message)}); ` +
            'statement_timeout, TimeZone and default_transaction_isolation may not hold behind a pooler. See README, "Running several instances".');
    }

    const mismatches = await engine.dialect.checkSessionSettings(engine.knex, overrides);
    if (mismatches.length) {
        report.warnings.push(`A pooled connection does not have the configured session settings: ${mismatches.map((m) => `${m.name} is ${m.actual}, expected ${m.expected}`).join('; ')}. ` +
            'Server connections a pooler opened before the settings changed keep the old values until they reconnect (PgBouncer: RECONNECT on its admin console, or server_lifetime).');
    }

    // Named statements only where the pool's own URL reaches the server.
    (engine as { namedStatements: boolean }).namedStatements = !direct && await reachesServer(engine);

    // Behind a pooler the server sees the pooler's connections, not this pool.
    const limit = direct ? null : await engine.dialect.connectionLimit(engine.knex);
    if (limit && engine.pool.max > limit.allowed) {
        report.warnings.push(`DB_POOL_MAX is ${engine.pool.max}, but the server allows only ${limit.allowed} connections (${limit.source}): ` +
            'under load this instance alone would get "too many clients" (answered with 503). Lower DB_POOL_MAX, raise the limit, or put PgBouncer in front (README, "Running several instances").');
    }

    return report;
}

/**
 * Whether a pooled engine's URL is PostgreSQL itself: one connection
 * outside the pool with the direct marker in its startup options, which
 * PgBouncer refuses ("unsupported startup parameter") or, told to ignore
 * `options`, drops.
 */
async function reachesServer(engine: DatabaseEngine): Promise<boolean> {

    if (engine.type !== 'postgres') {
        return false;
    }

    const connection = { ...(engine.knex.client.config.connection as Record<string, unknown>), options: `-c ${DIRECT_MARKER}=on` };
    try {
        await assertDirectConnection(connection, engine.target);
        return true;
    }
    catch {
        return false;
    }
}

/**
 * True when the engine's connections reach the server itself: a direct
 * engine sends a marker setting at connect that a pooler refuses or drops.
 */
export async function isDirectSession(engine: DatabaseEngine): Promise<boolean> {

    if (engine.type !== 'postgres') {
        return true;
    }

    const { rows } = await engine.knex.raw('SELECT current_setting(?, true) AS marker', [DIRECT_MARKER]);
    return rows[0].marker === 'on';
}

/**
 * The URL to use for work that must bypass the pooler: the configured
 * database's direct URL when `url` names the configured DATABASE_URL,
 * otherwise `url` itself (an explicit target is taken as given).
 */
export function directUrlFor(config: Pick<Config, 'database' | 'directDatabase'>, url: string): string {

    return url.trim() === config.database.url.trim() ? config.directDatabase.url : url;
}

export class NotDirectError extends Error {

    constructor(target: string) {

        super(`${target} is not PostgreSQL itself: the session settings sent at connect were dropped, as a connection pooler (PgBouncer with ignore_startup_parameters = options) does. ` +
            'Migrations, backups, restores and data migration need a direct connection: set DATABASE_DIRECT_URL to the PostgreSQL server');
        this.name = 'NotDirectError';
    }
}

/**
 * Opens one direct connection with the settings of a direct knex config and
 * checks that it reached PostgreSQL itself; throws a message that says what
 * is wrong (unreachable, a pooler in between) instead of the pool timeout
 * ("the pool is probably full") a failed connect otherwise turns into.
 */
export async function assertDirectConnection(connection: Record<string, unknown>, target: string): Promise<void> {

    const client = new Pg.Client(connection);
    client.on('error', () => {});
    try {
        await client.connect();
    }
    catch (error) {
        await client.end().catch(() => {});
        throw new DatabaseUnreachableError(target, connectionFailureReason(error));
    }

    try {
        const { rows } = await client.query('SELECT current_setting($1, true) AS marker', [DIRECT_MARKER]);
        if (rows[0].marker !== 'on') {
            throw new NotDirectError(target);
        }
    }
    finally {
        await client.end().catch(() => {});
    }
}

/**
 * knex settings for the knex CLI (knexfile.ts): the direct primary
 * (DATABASE_DIRECT_URL), at most `max` connections, and a failed connection
 * reported as what it is.
 */
export function directKnexConfig(database: Config['directDatabase'], overrides: PoolOverrides): KnexType.Config {

    const dialect = dialects[database.type];
    if (database.type === 'sqlite') {
        if (database.filename !== ':memory:') {
            makeDirectorySync(Path.dirname(database.filename));
        }

        return dialect.knexConfig(database.filename, overrides, 'direct');
    }

    const config = dialect.knexConfig(database.connectionString, overrides, 'direct');
    const connection = config.connection as Record<string, unknown>;
    let checked: Promise<void> | null = null;
    config.connection = async () => {

        checked ??= assertDirectConnection(connection, redactUrl(database.connectionString));
        await checked;
        return connection as KnexType.PgConnectionConfig;
    };
    (config.pool as { propagateCreateError?: boolean }).propagateCreateError = true;
    return config;
}

// knex logs some warnings to the console by default; route them nowhere
// unless a logger is given (the server passes its own).
const quietLog: KnexType.Config['log'] = {
    warn() {},
    error() {},
    deprecate() {},
    debug() {}
};
