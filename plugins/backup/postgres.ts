// PostgreSQL backups with the client tools. pg_dump runs on a snapshot
// exported by a REPEATABLE READ transaction that also counts the rows, so the
// manifest's counts describe exactly the dumped data even while the
// application keeps writing.

import { randomBytes } from 'node:crypto';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import Pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

import { connectionFailureReason, NotDirectError } from '../../server/db/engine';
import { DIRECT_MARKER } from '../../server/db/dialects/postgres';
import { BackupError } from './errors';
import type { BackupManifest } from './manifest';
import type { BackupFormat } from './names';
import { parentsFirst, type ForeignKeyEdge } from './order';
import { runTool, toolMajorVersion, type ToolEnvironment } from './tools';
import type { BackupDriver, DumpResult, OperationOptions, RestoreOptions, RestoreReport } from './types';

export interface PostgresDriverOptions {
    connectionString: string;
    /** PATH for pg_dump, pg_restore and psql. */
    toolPath: string;
    /** pg_restore --jobs for scratch restores (verify, partial restore). */
    jobs: number;
}

interface Connection {
    /** The URL without its password: safe for argv. */
    url: string;
    password: string | null;
    database: string;
}

function splitCredentials(connectionString: string): Connection {

    const url = new URL(connectionString);
    const password = url.password ? decodeURIComponent(url.password) : null;
    url.password = '';
    return { url: url.toString(), password, database: decodeURIComponent(url.pathname.slice(1)) };
}

function withDatabase(connection: Connection, database: string): Connection {

    const url = new URL(connection.url);
    url.pathname = `/${encodeURIComponent(database)}`;
    return { url: url.toString(), password: connection.password, database };
}

const ident = (name: string) => Pg.escapeIdentifier(name);

/**
 * A connection to PostgreSQL itself. pg_dump, pg_restore and psql set
 * session settings (search_path, statement_timeout…) that would stay on a
 * pooler's server connection and reach the application's requests, so every
 * operation first makes sure its URL is not a pooler: the marker sent at
 * connect comes back only from the server itself.
 */
async function connect(connection: Connection): Promise<Pg.Client> {

    const client = new Pg.Client({
        connectionString: connection.url,
        password: connection.password ?? undefined,
        application_name: 'neo-alexandria-backup',
        options: `-c ${DIRECT_MARKER}=on`
    });
    client.on('error', () => {});           // A dropped connection surfaces as the next query's error.
    try {
        await client.connect();
    }
    catch (error) {
        await client.end().catch(() => {});
        throw new BackupError('failed', `cannot connect to the database "${connection.database}": ${connectionFailureReason(error)}`);
    }

    const { rows: [{ marker }] } = await client.query('SELECT current_setting($1, true) AS marker', [DIRECT_MARKER]);
    if (marker !== 'on') {
        await client.end().catch(() => {});
        throw new BackupError('failed', new NotDirectError(`the database "${connection.database}"`).message);
    }

    return client;
}

async function tablesOf(client: Pg.Client): Promise<string[]> {

    const { rows } = await client.query(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`);
    return rows.map((row: { tablename: string }) => row.tablename);
}

async function countRows(client: Pg.Client, tables: readonly string[]): Promise<Record<string, number>> {

    const counts: Record<string, number> = {};
    for (const table of tables) {
        const { rows } = await client.query(`SELECT count(*)::bigint AS n FROM ${ident(table)}`);
        counts[table] = Number(rows[0].n);
    }

    return counts;
}

export function createPostgresDriver(options: PostgresDriverOptions): BackupDriver {

    const live = splitCredentials(options.connectionString);
    const env: ToolEnvironment = { path: options.toolPath, password: live.password };
    const dbArg = (connection: Connection) => `--dbname=${connection.url}`;

    const withScratch = async <T>(work: (scratch: Connection) => Promise<T>): Promise<T> => {

        // Scratch databases share a recognisable prefix so an operator can
        // find (and drop) one a crash left behind.
        const scratch = withDatabase(live, `na_backup_scratch_${randomBytes(6).toString('hex')}`);
        const admin = await connect(live);
        try {
            try {
                await admin.query(`CREATE DATABASE ${ident(scratch.database)} TEMPLATE template0`);
            }
            catch (error) {
                throw new BackupError('failed', `cannot create the scratch database ${scratch.database} (the database user needs CREATEDB): ${(error as Error).message}`);
            }

            try {
                return await work(scratch);
            }
            finally {
                await admin.query(`DROP DATABASE IF EXISTS ${ident(scratch.database)} WITH (FORCE)`);
            }
        }
        finally {
            await admin.end();
        }
    };

    const loadInto = async (target: Connection, path: string, format: BackupFormat, args: string[], run: OperationOptions) => {

        const toolEnv = { ...env, password: target.password };
        if (format === 'custom') {
            await runTool('pg_restore', ['--no-password', '--exit-on-error', '--no-owner', ...args, dbArg(target), path], { env: toolEnv, signal: run.signal });
            return;
        }

        // Plain dumps carry their own DROP … IF EXISTS (they are written with --clean).
        const single = args.includes('--single-transaction') ? ['--single-transaction'] : [];
        const psql = ['--no-password', '--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', ...single, dbArg(target)];
        if (format === 'plain') {
            await runTool('psql', [...psql, '--file', path], { env: toolEnv, signal: run.signal });
            return;
        }

        await runTool('psql', [...psql, '--file', '-'], { env: toolEnv, signal: run.signal, stdin: Fs.createReadStream(path).pipe(createGunzip()) });
    };

    return {
        dialect: 'postgres',
        database: live.database,
        confirmationName: live.database,
        formats: ['custom', 'plain', 'plain-gzip'],
        defaultFormat: 'custom',

        async dump(path: string, format: BackupFormat, run: OperationOptions): Promise<DumpResult> {

            const client = await connect(live);
            try {
                const { rows: [version] } = await client.query('SELECT current_setting(\'server_version_num\')::int AS num, current_setting(\'server_version\') AS text');
                const serverMajor = Math.floor(version.num / 10000);
                const toolMajor = await toolMajorVersion('pg_dump', env);
                if (toolMajor < serverMajor) {
                    throw new BackupError('tool', `pg_dump ${toolMajor} cannot dump a PostgreSQL ${serverMajor} server: install the version ${serverMajor} client tools or set BACKUP_PG_BIN_DIR to them`);
                }

                // The snapshot stays valid while this transaction is open:
                // pg_dump and the counts below see exactly the same data.
                await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
                const { rows: [{ snapshot }] } = await client.query('SELECT pg_export_snapshot() AS snapshot');
                const tables = await tablesOf(client);
                run.onProgress?.({ phase: 'counting rows', done: 0, total: tables.length });
                const counts = await countRows(client, tables);

                const args = ['--no-password', `--snapshot=${snapshot}`, '--verbose', `--file=${path}`];
                if (format === 'custom') {
                    args.push('--format=custom');
                }
                else {
                    args.push('--format=plain', '--clean', '--if-exists');
                    if (format === 'plain-gzip') {
                        args.push('--compress=6');
                    }
                }

                let done = 0;
                run.onProgress?.({ phase: 'dumping tables', done, total: tables.length });
                await runTool('pg_dump', [...args, dbArg(live)], {
                    env,
                    signal: run.signal,
                    onStderrLine: (line) => {

                        if (/dumping contents of table/.test(line)) {
                            run.onProgress?.({ phase: 'dumping tables', done: ++done, total: tables.length });
                        }
                    }
                });

                await client.query('COMMIT');
                return { serverVersion: `PostgreSQL ${version.text}`, toolVersion: `pg_dump ${toolMajor}`, tables: counts };
            }
            finally {
                await client.end().catch(() => {});
            }
        },

        async scratchCounts(path: string, format: BackupFormat, run: OperationOptions): Promise<Record<string, number>> {

            return await withScratch(async (scratch) => {

                run.onProgress?.({ phase: 'restoring into a scratch database' });
                await loadInto(scratch, path, format, format === 'custom' ? [`--jobs=${options.jobs}`] : [], run);
                run.onProgress?.({ phase: 'counting rows' });
                const client = await connect(scratch);
                try {
                    return await countRows(client, await tablesOf(client));
                }
                finally {
                    await client.end();
                }
            });
        },

        async restore(path: string, manifest: BackupManifest, restore: RestoreOptions & OperationOptions): Promise<RestoreReport> {

            const target = restore.into ? splitCredentials(restore.into) : live;
            await (await connect(target)).end();
            if (!restore.tables) {
                // One transaction: either the whole backup is restored or
                // nothing changed (the price: no parallel jobs here).
                restore.onProgress?.({ phase: 'restoring the whole database' });
                await loadInto(target, path, manifest.format, ['--clean', '--if-exists', '--single-transaction'], restore);
                const client = await connect(target);
                try {
                    return { mode: 'full', tables: await countRows(client, Object.keys(manifest.tables)) };
                }
                finally {
                    await client.end();
                }
            }

            if (manifest.format !== 'custom') {
                throw new BackupError('unsupported', `a partial restore needs a custom-format backup; ${manifest.name} is ${manifest.format}. Restore it fully, or take a custom-format backup`);
            }

            if (restore.into) {
                throw new BackupError('unsupported', 'a partial restore always targets the configured database');
            }

            return await restoreTables(path, manifest, restore.tables, restore);
        }
    };

    async function restoreTables(path: string, manifest: BackupManifest, tables: readonly string[], run: OperationOptions): Promise<RestoreReport> {

        // 1. The chosen tables (with the whole schema, without foreign keys
        //    to the tables left empty) go into a scratch database, in parallel.
        const listing = (await runTool('pg_restore', ['--list', path], { env, signal: run.signal })).stdout;
        const wanted = new Set(tables);
        const selected = listing.split('\n').filter((line) => {

            const entry = /^\d+; \d+ \d+ (TABLE DATA|FK CONSTRAINT) (\S+) (\S+)/.exec(line);
            if (!entry) {
                return true;
            }

            return entry[1] === 'TABLE DATA' && wanted.has(entry[3]!);
        });

        const listDir = await Fs.promises.mkdtemp(Path.join(Os.tmpdir(), 'na-backup-list-'));
        const listFile = Path.join(listDir, 'restore.list');
        await Fs.promises.writeFile(listFile, selected.join('\n'));

        try {
            return await withScratch(async (scratch) => {

                run.onProgress?.({ phase: 'restoring the chosen tables into a scratch database' });
                await runTool('pg_restore', ['--no-password', '--exit-on-error', '--no-owner', `--jobs=${options.jobs}`, `--use-list=${listFile}`, dbArg(scratch), path], { env, signal: run.signal });

                // 2. In one transaction on the live database, each chosen
                //    table's rows become the backup's rows.
                return await mergeTables(scratch, manifest, tables, run);
            });
        }
        finally {
            await Fs.promises.rm(listDir, { recursive: true, force: true });
        }
    }

    async function mergeTables(scratch: Connection, manifest: BackupManifest, tables: readonly string[], run: OperationOptions): Promise<RestoreReport> {

        const source = await connect(scratch);
        const target = await connect(live);
        try {
            const order = parentsFirst(tables, await foreignKeys(target));
            await target.query('BEGIN');
            const shapes = new Map<string, { columns: string[]; key: string[] }>();
            for (const table of order) {
                shapes.set(table, await tableShape(source, target, table));
            }

            // Stage every table first, then delete children-first and upsert
            // parents-first. Rows present in both keep their identity, so
            // rows of other tables that reference them survive; rows the
            // backup does not have are deleted with their ON DELETE rules.
            let done = 0;
            for (const table of order) {
                const { columns } = shapes.get(table)!;
                const list = columns.map(ident).join(', ');
                await target.query(`CREATE TEMP TABLE ${ident(`stage_${table}`)} (LIKE ${ident(table)}) ON COMMIT DROP`);
                await pipeline(
                    source.query(copyTo(`COPY ${ident(table)} (${list}) TO STDOUT`)),
                    target.query(copyFrom(`COPY ${ident(`stage_${table}`)} (${list}) FROM STDIN`))
                );
                run.onProgress?.({ phase: 'staging rows', done: ++done, total: order.length });
            }

            for (const table of [...order].reverse()) {
                const { key } = shapes.get(table)!;
                const match = key.map((column) => `s.${ident(column)} = t.${ident(column)}`).join(' AND ');
                await target.query(`DELETE FROM ${ident(table)} t WHERE NOT EXISTS (SELECT 1 FROM ${ident(`stage_${table}`)} s WHERE ${match})`);
            }

            // The upsert fires resources' search_vector trigger (INSERT, and
            // UPDATE OF title/description/subject), so the full-text index
            // matches the restored text.
            for (const table of order) {
                const { columns, key } = shapes.get(table)!;
                const list = columns.map(ident).join(', ');
                const others = columns.filter((column) => !key.includes(column));
                const action = others.length ? `DO UPDATE SET ${others.map((column) => `${ident(column)} = EXCLUDED.${ident(column)}`).join(', ')}` : 'DO NOTHING';
                await target.query(`INSERT INTO ${ident(table)} (${list}) SELECT ${list} FROM ${ident(`stage_${table}`)} ON CONFLICT (${key.map(ident).join(', ')}) ${action}`);
            }

            const counts = await countRows(target, order);
            const wrong = order.filter((table) => counts[table] !== manifest.tables[table]);
            if (wrong.length) {
                throw new BackupError('failed', `after the restore ${wrong.map((table) => `${table} has ${counts[table]} rows, the backup ${manifest.tables[table]}`).join('; ')}; nothing was changed`);
            }

            await target.query('COMMIT');
            return { mode: 'partial', tables: counts };
        }
        catch (error) {
            await target.query('ROLLBACK').catch(() => {});
            if (error instanceof BackupError) {
                throw error;
            }

            throw new BackupError('failed', `partial restore failed, nothing was changed: ${(error as Error).message}`);
        }
        finally {
            await source.end().catch(() => {});
            await target.end().catch(() => {});
        }
    }
}

/** The foreign keys between tables of the current schema. */
async function foreignKeys(client: Pg.Client): Promise<ForeignKeyEdge[]> {

    const { rows } = await client.query(`
        SELECT child.relname AS child, parent.relname AS parent
        FROM pg_constraint c
        JOIN pg_class child ON child.oid = c.conrelid
        JOIN pg_class parent ON parent.oid = c.confrelid
        JOIN pg_namespace n ON n.oid = child.relnamespace
        WHERE c.contype = 'f' AND n.nspname = current_schema()`);
    return rows;
}

async function tableShape(source: Pg.Client, target: Pg.Client, table: string): Promise<{ columns: string[]; key: string[] }> {

    const columnsOf = async (client: Pg.Client) => {

        const { rows } = await client.query(`
            SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, [table]);
        return rows.map((row: { column_name: string }) => row.column_name);
    };

    const backup = await columnsOf(source);
    const current = await columnsOf(target);
    if (!current.length) {
        throw new BackupError('invalid', `the table ${table} does not exist in the database; restore the whole backup instead`);
    }

    const missing = backup.filter((column) => !current.includes(column));
    if (missing.length) {
        throw new BackupError('unsupported', `the backup's ${table} has columns the database no longer has (${missing.join(', ')}); restore the whole backup instead`);
    }

    const { rows } = await target.query(`
        SELECT a.attname FROM pg_index i
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = $1::regclass AND i.indisprimary`, [ident(table)]);
    if (!rows.length) {
        throw new BackupError('unsupported', `the table ${table} has no primary key, so it cannot be restored on its own`);
    }

    return { columns: backup, key: rows.map((row: { attname: string }) => row.attname) };
}
