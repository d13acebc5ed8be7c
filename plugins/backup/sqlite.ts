// SQLite backups of the live file, online.
//
// Why VACUUM INTO and not the backup API for creating backups: VACUUM INTO
// copies the database inside one read transaction, so in WAL mode it sees one
// consistent snapshot and never blocks the application's writer. The backup
// API copies page by page across several steps and starts over whenever
// another connection writes between steps, so under a steady write load it
// can take arbitrarily long; copying in a single step instead would hold the
// read lock just as VACUUM INTO does, without VACUUM INTO's compaction.
// Restores go the other way with the backup API (file → live database): it
// replaces the live database in one write transaction that the application's
// connection sees as an ordinary change.

import { randomBytes } from 'node:crypto';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import Sqlite3 from 'sqlite3';

import { isDerivedSearchTable } from '../../server/search/storage';
import { BackupError } from './errors';
import type { BackupManifest } from './manifest';
import type { BackupFormat } from './names';
import { parentsFirst, type ForeignKeyEdge } from './order';
import type { BackupDriver, DumpResult, OperationOptions, RestoreOptions, RestoreReport } from './types';

export interface SqliteDriverOptions {
    filename: string;
    busyTimeoutMs: number;
}

/** A small promise wrapper over one sqlite3 connection. */
class Connection {

    private constructor(readonly db: Sqlite3.Database) {}

    static async open(filename: string, mode = Sqlite3.OPEN_READWRITE): Promise<Connection> {

        const db = await new Promise<Sqlite3.Database>((resolve, reject) => {

            const opened: Sqlite3.Database = new Sqlite3.Database(filename, mode, (error) => (error ? reject(error) : resolve(opened)));
        });
        return new Connection(db);
    }

    run(sql: string, params: unknown[] = []): Promise<void> {

        return new Promise((resolve, reject) => this.db.run(sql, params, (error) => (error ? reject(error) : resolve())));
    }

    all<T = Record<string, any>>(sql: string, params: unknown[] = []): Promise<T[]> {

        return new Promise((resolve, reject) => this.db.all(sql, params, (error, rows) => (error ? reject(error) : resolve(rows as T[]))));
    }

    close(): Promise<void> {

        return new Promise((resolve) => this.db.close(() => resolve()));
    }
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

async function tablesOf(connection: Connection, schema = 'main'): Promise<string[]> {

    const rows = await connection.all<{ name: string }>(`SELECT name FROM ${schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`);
    return rows.map((row) => row.name);
}

async function countRows(connection: Connection, tables: readonly string[], schema = 'main'): Promise<Record<string, number>> {

    const counts: Record<string, number> = {};
    for (const table of tables) {
        const [row] = await connection.all<{ n: number }>(`SELECT count(*) AS n FROM ${schema}.${quote(table)}`);
        counts[table] = row!.n;
    }

    return counts;
}

async function integrityCheck(connection: Connection, label: string): Promise<void> {

    const rows = await connection.all<{ integrity_check: string }>('PRAGMA integrity_check');
    const messages = rows.map((row) => row.integrity_check);
    if (messages.join() !== 'ok') {
        throw new BackupError('failed', `${label} is damaged: ${messages.slice(0, 3).join('; ')}`);
    }
}

/** A private copy of a backup file, removed afterwards, so nothing ever writes to the backup itself. */
async function withScratchCopy<T>(path: string, work: (copy: string) => Promise<T>): Promise<T> {

    const dir = await Fs.promises.mkdtemp(Path.join(Os.tmpdir(), 'na-backup-scratch-'));
    const copy = Path.join(dir, `scratch-${randomBytes(4).toString('hex')}.sqlite3`);
    try {
        await Fs.promises.copyFile(path, copy);
        return await work(copy);
    }
    finally {
        await Fs.promises.rm(dir, { recursive: true, force: true });
    }
}

export function createSqliteDriver(options: SqliteDriverOptions): BackupDriver {

    const { filename } = options;
    const label = Path.basename(filename).replace(/\.[^.]*$/, '');

    const openLive = async () => {

        if (filename === ':memory:') {
            throw new BackupError('unsupported', 'an in-memory SQLite database cannot be backed up');
        }

        if (!Fs.existsSync(filename)) {
            throw new BackupError('failed', `the database file ${filename} does not exist`);
        }

        const connection = await Connection.open(filename);
        await connection.run(`PRAGMA busy_timeout = ${options.busyTimeoutMs}`);
        await connection.run('PRAGMA foreign_keys = ON');
        return connection;
    };

    return {
        dialect: 'sqlite',
        database: label,
        confirmationName: label,
        formats: ['sqlite'],
        defaultFormat: 'sqlite',

        async dump(path: string, _format: BackupFormat, run: OperationOptions): Promise<DumpResult> {

            const live = await openLive();
            try {
                run.onProgress?.({ phase: 'copying a consistent snapshot (VACUUM INTO)' });
                await live.run(`VACUUM INTO ${literal(path)}`);
            }
            catch (error) {
                throw new BackupError('failed', `VACUUM INTO failed: ${(error as Error).message}`);
            }
            finally {
                await live.close();
            }

            // The counts come from the copy itself, so they are exactly the
            // snapshot's. The copy is switched to a rollback journal so it is
            // one self-contained file.
            run.onProgress?.({ phase: 'checking the copy' });
            const copy = await Connection.open(path);
            try {
                await copy.run('PRAGMA journal_mode = DELETE');
                await integrityCheck(copy, 'the new backup');
                const [{ version }] = await copy.all<{ version: string }>('SELECT sqlite_version() AS version');
                return { serverVersion: `SQLite ${version}`, toolVersion: null, tables: await countRows(copy, await tablesOf(copy)) };
            }
            finally {
                await copy.close();
            }
        },

        async scratchCounts(path: string, _format: BackupFormat, run: OperationOptions): Promise<Record<string, number>> {

            return await withScratchCopy(path, async (copy) => {

                run.onProgress?.({ phase: 'checking integrity of a scratch copy' });
                const connection = await Connection.open(copy);
                try {
                    await integrityCheck(connection, 'the backup');
                    return await countRows(connection, await tablesOf(connection));
                }
                finally {
                    await connection.close();
                }
            });
        },

        async restore(path: string, manifest: BackupManifest, restore: RestoreOptions & OperationOptions): Promise<RestoreReport> {

            if (restore.into) {
                throw new BackupError('unsupported', 'SQLite backups restore into the configured database file only');
            }

            return await withScratchCopy(path, async (copy) => {

                const live = await openLive();
                try {
                    if (!restore.tables) {
                        restore.onProgress?.({ phase: 'replacing the live database (backup API)' });
                        await copyInto(live, copy);
                        return { mode: 'full', tables: await countRows(live, await tablesOf(live)) };
                    }

                    return await restoreTables(live, copy, manifest, restore.tables, restore);
                }
                finally {
                    await live.close();
                }
            });
        }
    };
}

// node-sqlite3 has Database#backup, but its type definitions do not declare it.
interface SqliteBackup {
    readonly completed: boolean;
    step(pages: number, callback: (error: Error | null) => void): void;
    finish(callback: () => void): void;
}

type BackupCapable = { backup(filename: string, destName: string, sourceName: string, filenameIsDest: boolean, callback: (error: Error | null) => void): SqliteBackup };

/** Replaces the live database with a file in one step of the backup API. */
function copyInto(live: Connection, file: string): Promise<void> {

    return new Promise((resolve, reject) => {

        // filenameIsDest = false: the file is the source, the live connection the destination.
        const backup = (live.db as unknown as BackupCapable).backup(file, 'main', 'main', false, (error: Error | null) => {

            if (error) {
                reject(new BackupError('failed', `cannot start the restore: ${error.message}`));
                return;
            }

            backup.step(-1, (stepError: Error | null) => {

                backup.finish(() => {

                    if (stepError || !backup.completed) {
                        reject(new BackupError('failed', `restore failed, the database is unchanged: ${stepError?.message ?? 'incomplete copy'}`));
                        return;
                    }

                    resolve();
                });
            });
        });
    });
}

async function restoreTables(live: Connection, copy: string, manifest: BackupManifest, tables: readonly string[], run: OperationOptions): Promise<RestoreReport> {

    for (const table of tables) {
        if (isDerivedSearchTable('sqlite', table)) {
            throw new BackupError('invalid', `${table} is derived search data: restore resources and it is rebuilt by its triggers`);
        }
    }

    await live.run(`ATTACH DATABASE ${literal(copy)} AS backup`);
    try {
        const order = parentsFirst(tables, await foreignKeys(live, tables));
        const shapes = new Map<string, { columns: string[]; key: string[] }>();
        for (const table of order) {
            const info = await live.all<{ name: string; pk: number }>(`SELECT name, pk FROM pragma_table_info(${literal(table)}, 'main')`);
            const backupColumns = (await live.all<{ name: string }>(`SELECT name FROM pragma_table_info(${literal(table)}, 'backup')`)).map((row) => row.name);
            if (!info.length) {
                throw new BackupError('invalid', `the table ${table} does not exist in the database; restore the whole backup instead`);
            }

            const missing = backupColumns.filter((column) => !info.some((row) => row.name === column));
            if (missing.length) {
                throw new BackupError('unsupported', `the backup's ${table} has columns the database no longer has (${missing.join(', ')}); restore the whole backup instead`);
            }

            const key = info.filter((row) => row.pk > 0).sort((a, b) => a.pk - b.pk).map((row) => row.name);
            if (!key.length) {
                throw new BackupError('unsupported', `the table ${table} has no primary key, so it cannot be restored on its own`);
            }

            shapes.set(table, { columns: backupColumns, key });
        }

        // The same merge as on PostgreSQL: delete children-first what the
        // backup does not have, upsert parents-first what it has. The FTS
        // triggers on resources fire for both, so search stays in step.
        await live.run('BEGIN IMMEDIATE');
        try {
            for (const table of [...order].reverse()) {
                const { key } = shapes.get(table)!;
                const match = key.map((column) => `b.${quote(column)} = t.${quote(column)}`).join(' AND ');
                await live.run(`DELETE FROM main.${quote(table)} AS t WHERE NOT EXISTS (SELECT 1 FROM backup.${quote(table)} AS b WHERE ${match})`);
            }

            let done = 0;
            for (const table of order) {
                const { columns, key } = shapes.get(table)!;
                const list = columns.map(quote).join(', ');
                const others = columns.filter((column) => !key.includes(column));
                const action = others.length ? `DO UPDATE SET ${others.map((column) => `${quote(column)} = excluded.${quote(column)}`).join(', ')}` : 'DO NOTHING';
                // "WHERE true" lets SQLite parse the upsert after a SELECT.
                await live.run(`INSERT INTO main.${quote(table)} (${list}) SELECT ${list} FROM backup.${quote(table)} WHERE true ON CONFLICT (${key.map(quote).join(', ')}) ${action}`);
                run.onProgress?.({ phase: 'restoring tables', done: ++done, total: order.length });
            }

            const counts = await countRows(live, order);
            const wrong = order.filter((table) => counts[table] !== manifest.tables[table]);
            if (wrong.length) {
                throw new BackupError('failed', `after the restore ${wrong.map((table) => `${table} has ${counts[table]} rows, the backup ${manifest.tables[table]}`).join('; ')}; nothing was changed`);
            }

            await live.run('COMMIT');
            return { mode: 'partial', tables: counts };
        }
        catch (error) {
            await live.run('ROLLBACK').catch(() => {});
            if (error instanceof BackupError) {
                throw error;
            }

            throw new BackupError('failed', `partial restore failed, nothing was changed: ${(error as Error).message}`);
        }
    }
    finally {
        await live.run('DETACH DATABASE backup').catch(() => {});
    }
}

async function foreignKeys(live: Connection, tables: readonly string[]): Promise<ForeignKeyEdge[]> {

    const edges: ForeignKeyEdge[] = [];
    for (const table of tables) {
        const rows = await live.all<{ table: string }>(`SELECT "table" FROM pragma_foreign_key_list(${literal(table)}, 'main')`);
        edges.push(...rows.map((row) => ({ child: table, parent: row.table })));
    }

    return edges;
}
