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
     * Tries to take a lock named `key` for the rest of the transaction `trx`
     * (never for a session: safe through a transaction-mode pooler); false
     * when another transaction holds it. Always true where one process owns
     * the database.
     */
    tryTransactionLock(trx: Knex.Transaction, key: string): Promise<boolean>;
    /** True on a read-only standby (periodic writes must not run there). */
    isStandby(knex: Knex): Promise<boolean>;
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
