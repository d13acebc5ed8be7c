// SQLite: one writer, WAL, foreign keys on, and the SQL only SQLite speaks.

import Fs from 'node:fs';
import type { Knex } from 'knex';

import type { PoolOverrides } from '../../config';
import type { ConnectionLimit, Dialect, PoolSettings, SessionSettingMismatch } from '../types';
import { errorCode } from './common';

/** The files a SQLite database lives in, in bytes (0 for one that does not exist). */
export interface SqliteFileSizes {
    file: number;
    /** Write-ahead log: committed pages not yet copied into the file. */
    wal: number;
    /** WAL index (shared memory). */
    shm: number;
    total: number;
}

function sizeOrZero(path: string): number {

    try {
        return Fs.statSync(path).size;
    }
    catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
            return 0;
        }

        throw error;
    }
}

// In WAL mode recent writes live in <file>-wal until a checkpoint copies them
// into the file, so the file alone can read 4 KiB for a library of megabytes.
export function sqliteFileSizes(filename: string): SqliteFileSizes {

    const file = sizeOrZero(filename);
    const wal = sizeOrZero(`${filename}-wal`);
    const shm = sizeOrZero(`${filename}-shm`);
    return { file, wal, shm, total: file + wal + shm };
}

export const sqlite: Dialect = {
    type: 'sqlite',

    poolSettings(overrides: PoolOverrides): PoolSettings {

        // One connection: SQLite allows one writer at a time, and a single
        // connection turns lock contention into an orderly queue in the pool.
        return {
            min: 1,
            max: 1,
            recycleSeconds: null,
            idleTimeoutMs: overrides.idleTimeoutMs ?? 30_000,
            acquireTimeoutMs: overrides.acquireTimeoutMs ?? 10_000,
            statementTimeoutMs: null,
            prePingIdleMs: null
        };
    },

    knexConfig(target: string, overrides: PoolOverrides): Knex.Config {

        const settings = this.poolSettings(overrides);
        const busyTimeout = overrides.sqliteBusyTimeoutMs ?? 30_000;
        const cacheKib = Math.round((overrides.sqliteCacheMb ?? 64) * 1024);
        return {
            client: 'sqlite3',
            connection: { filename: target },
            useNullAsDefault: true,
            acquireConnectionTimeout: settings.acquireTimeoutMs,
            pool: {
                min: settings.min,
                max: settings.max,
                idleTimeoutMillis: settings.idleTimeoutMs,
                acquireTimeoutMillis: settings.acquireTimeoutMs,
                afterCreate(connection: any, done: (err: Error | null, connection: unknown) => void) {

                    connection.serialize(() => {

                        connection.run(`PRAGMA busy_timeout = ${busyTimeout}`);
                        connection.run('PRAGMA foreign_keys = ON');
                        connection.run('PRAGMA synchronous = NORMAL');
                        // 64 MiB page cache (default 2 MiB): ranking a common word
                        // reads tens of thousands of FTS5 and resource pages; with
                        // the default cache the same pages are read again per query.
                        connection.run(`PRAGMA cache_size = -${cacheKib}`);
                        connection.run('PRAGMA journal_mode = WAL', (err: Error | null) => done(err, connection));
                    });
                }
            } as Knex.PoolConfig
        };
    },

    async applySessionDefaults(): Promise<string[]> {

        // Set per connection in afterCreate: there is no pooler in between.
        return [];
    },

    async checkSessionSettings(): Promise<SessionSettingMismatch[]> {

        return [];
    },

    async connectionLimit(): Promise<ConnectionLimit | null> {

        return null;
    },

    jsonArrayContains(knex: Knex, column: string, values: readonly string[]): Knex.Raw {

        const clauses = values.map(() => 'EXISTS (SELECT 1 FROM json_each(??) WHERE json_each.value = ?)');
        const bindings = values.flatMap((value) => [column, value]);
        return knex.raw(`(${clauses.join(' AND ') || '1 = 1'})`, bindings);
    },

    lockForUpdate(query) {

        // The single connection already serialises every transaction.
        return query;
    },

    isRetryable(error: unknown): boolean {

        const code = errorCode(error);
        return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
    },

    nowDefault(knex: Knex): Knex.Raw {

        // The same text the models write: 2026-01-31T12:00:00.000Z
        return knex.raw("(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
    },

    uuidDefault(): null {

        return null;
    },

    async databaseSize(knex: Knex): Promise<number> {

        const filename = (knex.client.config.connection as { filename: string }).filename;
        if (filename === ':memory:') {
            const [{ size }] = await knex.raw('SELECT page_count * page_size AS size FROM pragma_page_count(), pragma_page_size()');
            return Number(size);
        }

        return sqliteFileSizes(filename).total;
    },

    async serverVersion(knex: Knex): Promise<string> {

        const [row] = await knex.raw('SELECT sqlite_version() AS version');
        return `SQLite ${row.version}`;
    },

    tryTransactionLock(): Promise<boolean> {

        // One instance per file, and its single connection runs one transaction at a time.
        return Promise.resolve(true);
    },

    isStandby(): Promise<boolean> {

        return Promise.resolve(false);
    }
};
