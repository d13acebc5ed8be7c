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
 * Everything that differs between SQLite and PostgreSQL, in one object per
 * dialect. The rest of the code asks the dialect; it never tests the type.
 */
export interface Dialect {
    readonly type: DatabaseType;
    /** Pool and session settings actually used for a connection target. */
    poolSettings(overrides: PoolOverrides): PoolSettings;
    knexConfig(target: string, overrides: PoolOverrides): Knex.Config;
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
    /** Size in bytes of the database (file or catalog). */
    databaseSize(knex: Knex): Promise<number>;
    /** Server/library version string. */
    serverVersion(knex: Knex): Promise<string>;
    /**
     * A first statement on a raw connection (outside the pool): opening a
     * SQLite file reads nothing, so a file that is not a database, or a
     * damaged one, fails here and not in the first request.
     */
    probeConnection(connection: unknown): Promise<void>;
    /** What the operator can do about a connection error, appended to its reason ('' when nothing useful). */
    connectionHint(target: string, reason: string): string;
}

export interface DatabaseEngine {
    readonly type: DatabaseType;
    readonly knex: Knex;
    readonly dialect: Dialect;
    /** Connection target with credentials removed, safe to show and log. */
    readonly target: string;
    readonly pool: PoolSettings;
    destroy(): Promise<void>;
}
