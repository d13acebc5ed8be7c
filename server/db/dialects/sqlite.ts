// SQLite: one writer, WAL, foreign keys on, and the SQL only SQLite speaks.

import Fs from 'node:fs';
import Path from 'node:path';
import type { Knex } from 'knex';

import type { PoolOverrides } from '../../config';
import { makeDirectorySync } from '../../fs';
import type { ConnectionLimit, Dialect, PoolSettings, SessionSettingMismatch } from '../types';
import { isInMemoryFilename } from '../url';
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
    connectsToServer: false,

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

                    // Every statement has a callback: one without emits its
                    // error (SQLITE_NOTADB for a file that is not a database)
                    // as an 'error' event nobody listens to, which ends the
                    // process. The first error fails the connection instead.
                    let failure: Error | null = null;
                    const step = (error: Error | null) => {

                        failure ??= error;
                    };

                    connection.serialize(() => {

                        connection.run(`PRAGMA busy_timeout = ${busyTimeout}`, step);
                        connection.run('PRAGMA foreign_keys = ON', step);
                        connection.run('PRAGMA synchronous = NORMAL', step);
                        // 64 MiB page cache (default 2 MiB): ranking a common word
                        // reads tens of thousands of FTS5 and resource pages; with
                        // the default cache the same pages are read again per query.
                        connection.run(`PRAGMA cache_size = -${cacheKib}`, step);
                        connection.run('PRAGMA journal_mode = WAL', (error: Error | null) => {

                            step(error);
                            if (failure) {
                                // Closed here: the pool never sees this connection.
                                connection.close(() => done(failure, connection));
                                return;
                            }

                            done(null, connection);
                        });
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

    probeConnection(connection: any): Promise<void> {

        return new Promise((resolve, reject) => connection.get('SELECT count(*) FROM sqlite_master', (error: Error | null) => (error ? reject(error) : resolve())));
    },

    connectionHint(target: string, reason: string): string {

        const filename = target.replace(/^sqlite:/, '');
        if (/SQLITE_CANTOPEN/.test(reason) && Fs.statSync(filename, { throwIfNoEntry: false })?.isDirectory()) {
            return ' (the path is a directory, not a SQLite file)';
        }

        if (/SQLITE_NOTADB/.test(reason)) {
            return ' (not a SQLite database: a dump, a compressed file or another format?)';
        }

        return /SQLITE_CORRUPT/.test(reason) ? ' (the file is damaged: restore it from a backup)' : '';
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
        if (isInMemoryFilename(filename)) {
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
    },

    prepareTarget(target: string): void {

        if (isInMemoryFilename(target)) {
            return;
        }

        try {
            makeDirectorySync(Path.dirname(target));
        }
        catch (error) {
            throw new Error(`cannot create the directory of the SQLite database ${target}: ${(error as Error).message}`);
        }
    },

    reachedServer(): Promise<boolean> {

        // The file is opened by this process: nothing stands in between.
        return Promise.resolve(true);
    }
};
