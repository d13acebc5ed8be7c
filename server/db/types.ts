// Contracts shared by the database engine, the dialect modules and their users.

import type { Knex } from 'knex';

import type { PoolOverrides } from '../config';
import type { DatabaseType } from './url';

export interface PoolSettings {
    min: number;
    max: number;
    recycleSeconds: number | null;
    idleTimeoutMs: number;
    acquireTimeoutMs: number;
    statementTimeoutMs: number | null;
    prePingIdleMs: number | null;
}

/**
 * How a connection reaches the primary. `pooled` may go through a
 * transaction-mode pooler (PgBouncer), so nothing may outlive a transaction
 * and nothing but tracked parameters goes in the startup packet; `direct`
 * reaches the server itself (pg_dump, scratch databases, migrations from the
 * CLI, data migration) and carries its session settings at connect.
 */
export type ConnectionKind = 'pooled' | 'direct';

/** A raw driver connection's query, for work done outside the pool. */
export type RawQuery = (sql: string, bindings?: readonly unknown[]) => Promise<Array<Record<string, unknown>>>;

/** A session setting whose value in force differs from the configured one. */
export interface SessionSettingMismatch {
    name: string;
    expected: string;
    actual: string;
}

/**
 * Everything that differs between SQLite and PostgreSQL, in one object per
 * dialect. The rest of the code asks the dialect; it never tests the type.
 */
export interface Dialect {
    readonly type: DatabaseType;
    /** Pool and session settings actually used for a connection target. */
    poolSettings(overrides: PoolOverrides): PoolSettings;
    knexConfig(target: string, overrides: PoolOverrides, kind?: ConnectionKind): Knex.Config;
    /**
     * Makes the configured session settings the defaults of every new pooled
     * session (PostgreSQL: role defaults in this database, since a pooler
     * cannot pass them at connect). Returns the names it changed.
     */
    applySessionDefaults(query: RawQuery, overrides: PoolOverrides): Promise<string[]>;
    /** The configured session settings a pooled connection does not have. */
    checkSessionSettings(knex: Knex, overrides: PoolOverrides): Promise<SessionSettingMismatch[]>;
    /**
     * The most connections the server accepts from this role and database
     * (null where there is no such limit).
     */
    connectionLimit(knex: Knex): Promise<ConnectionLimit | null>;
    /** A condition: the JSON array in `column` contains every value. */
    jsonArrayContains(knex: Knex, column: string, values: readonly string[]): Knex.Raw;
    /** Adds a row lock for a read-modify-write (no-op where the engine serialises writers). */
    lockForUpdate<Q extends { forUpdate(): Q }>(query: Q): Q;
    /** True for errors after which the whole transaction may safely run again. */
    isRetryable(error: unknown): boolean;
    /** Column default for "now" as an ISO-8601 UTC instant with milliseconds. */
    nowDefault(knex: Knex): Knex.Raw;
    /** Column default for a generated UUID, or null where the application must supply it. */
    uuidDefault(knex: Knex): Knex.Raw | null;
    /** Size in bytes of the database (SQLite: file + WAL + shared memory; PostgreSQL: the catalog's figure). */
    databaseSize(knex: Knex): Promise<number>;
    /** Server/library version string. */
    serverVersion(knex: Knex): Promise<string>;
    /**
     * Tries to take a lock named `key` for the rest of the transaction `trx`
     * (never for a session: safe through a transaction-mode pooler); false
     * when another transaction holds it. Always true where one process owns
     * the database.
     */
    tryTransactionLock(trx: Knex.Transaction, key: string): Promise<boolean>;
    /** True on a read-only standby (periodic writes must not run there). */
    isStandby(knex: Knex): Promise<boolean>;
    /**
     * A first statement on a raw connection (outside the pool): opening a
     * SQLite file reads nothing, so a file that is not a database, or a
     * damaged one, fails here and not in the first request.
     */
    probeConnection(connection: unknown): Promise<void>;
    /** What the operator can do about a connection error, appended to its reason ('' when nothing useful). */
    connectionHint(target: string, reason: string): string;
    /** Makes a connection target ready to open (SQLite: creates the file's directory). */
    prepareTarget(target: string): void;
    /**
     * Whether a raw connection opened with the direct marker in its startup
     * options reached the server itself, not a pooler that dropped them.
     * Always true where there is no pooler.
     */
    reachedServer(query: RawQuery): Promise<boolean>;
    /**
     * Connections go to a database server (PostgreSQL), where a connection
     * pooler may stand in between and named statements live per server
     * connection; false for an engine inside this process (SQLite).
     */
    readonly connectsToServer: boolean;
}

/** What the server allows, for the start-up pool check. */
export interface ConnectionLimit {
    /** Connections open to ordinary roles: max_connections less the reserved ones, or a lower role/database limit. */
    allowed: number;
    /** Where the figure comes from, for the warning. */
    source: string;
}

export interface DatabaseEngine {
    readonly type: DatabaseType;
    readonly kind: ConnectionKind;
    readonly knex: Knex;
    readonly dialect: Dialect;
    /** Connection target with credentials removed, safe to show and log. */
    readonly target: string;
    /** The database lives on its one connection (in-memory SQLite): nothing else can open it. */
    readonly inMemory: boolean;
    readonly pool: PoolSettings;
    /**
     * A statement named `name` where that is safe: parsed and planned once
     * per connection when the pooled connections were found to reach the
     * server itself (prepareSessions), unnamed otherwise (a named statement
     * lives on a server connection another client gets through PgBouncer).
     */
    prepared<Q extends NameableQuery<Q>>(query: Q, name: string): Q;
    /** True once prepareSessions found the pooled connections direct (named statements on). */
    readonly namedStatements: boolean;
    destroy(): Promise<void>;
}

/** A knex query builder, which passes `options` on to the driver. */
export interface NameableQuery<Q> {
    options(options: Readonly<Record<string, unknown>>): Q;
}
