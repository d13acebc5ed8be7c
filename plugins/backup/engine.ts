// The backup engine: create, list, verify, restore and prune backups of the
// configured database. Plain module (no Hapi) so scripts and the plugin share
// it. Files are written under a temporary name and renamed only when complete;
// names are generated here and a name from outside is accepted only if it is
// one of the files list() returns.

import { randomBytes } from 'node:crypto';
import Fs from 'node:fs';
import Path from 'node:path';

import type { Config } from '../../server/config';
import { onDatabase, type ParsedDatabaseUrl } from '../../server/db/url';
import { makeDirectory } from '../../server/fs';
import { BackupError } from './errors';
import { fsyncFile, readManifest, sha256File, writeJsonAtomic, type BackupManifest, type BackupVerification } from './manifest';
import { backupName, manifestName, nameLabel, parseBackupName, partialName, safeDatabaseLabel, type BackupFormat } from './names';
import { createPostgresDriver } from './postgres';
import { planRetention, type RetentionPlan, type RetentionPolicy } from './retention';
import { createSqliteDriver } from './sqlite';
import type { BackupDriver, OperationOptions, RestoreReport } from './types';

export interface BackupEngineOptions {
    database: ParsedDatabaseUrl;
    backupDir: string;
    retention: RetentionPolicy;
    /** PATH for the PostgreSQL client tools. */
    toolPath: string;
    /** Parallel pg_restore jobs for scratch restores. */
    jobs: number;
    sqliteBusyTimeoutMs: number;
    /** Clock (tests move it). */
    now?: () => Date;
}

export interface BackupEntry {
    name: string;
    format: BackupFormat;
    createdAt: string;
    size: number;
    /** null for a dump without a sidecar (for example one made by scripts/backup_postgresql.sh). */
    manifest: BackupManifest | null;
}

export interface VerifyReport {
    name: string;
    ok: boolean;
    checksum: 'ok' | 'mismatch' | 'not recorded';
    tables: Record<string, { expected: number | null; actual: number | null }>;
    problems: string[];
}

export interface PruneReport extends RetentionPlan {
    dryRun: boolean;
}

export interface BackupEngine {
    readonly dialect: 'postgres' | 'sqlite';
    readonly database: string;
    readonly confirmationName: string;
    readonly formats: readonly BackupFormat[];
    readonly defaultFormat: BackupFormat;
    readonly backupDir: string;
    /** The operation running now, if any (one at a time). */
    busy(): string | null;
    list(): Promise<BackupEntry[]>;
    /** The listed backup of that name; anything else is refused with a BackupError. */
    find(name: unknown): Promise<BackupEntry>;
    checkRestore(name: unknown, tables?: readonly string[]): Promise<BackupEntry>;
    /** `unique`: the 8 hex digits that make the name unique (a job passes its id's first digits; random otherwise). */
    create(options?: { format?: BackupFormat; unique?: string } & OperationOptions): Promise<BackupManifest>;
    verify(name: string, options?: OperationOptions): Promise<VerifyReport>;
    restore(name: string, options?: { tables?: readonly string[]; into?: string } & OperationOptions): Promise<RestoreReport>;
    prune(options?: { dryRun?: boolean }): Promise<PruneReport>;
}

/** The engine configured from the server's config (plugin and CLI alike). */
export function backupEngineFromConfig(config: Config): BackupEngine {

    return createBackupEngine({
        // pg_dump, pg_restore, psql and scratch databases bypass the pooler.
        database: config.directDatabase,
        backupDir: config.backupDir,
        retention: config.backup.retention,
        toolPath: config.backup.toolPath,
        jobs: config.backup.restoreJobs,
        sqliteBusyTimeoutMs: config.pool.sqliteBusyTimeoutMs ?? 30_000
    });
}

export function createBackupEngine(options: BackupEngineOptions): BackupEngine {

    const driver: BackupDriver = onDatabase(options.database, {
        postgres: ({ connectionString }) => createPostgresDriver({ connectionString, toolPath: options.toolPath, jobs: options.jobs }),
        sqlite: ({ filename }) => createSqliteDriver({ filename, busyTimeoutMs: options.sqliteBusyTimeoutMs })
    });

    const dir = options.backupDir;
    const label = safeDatabaseLabel(driver.database);
    const now = options.now ?? (() => new Date());
    let running: string | null = null;

    // One operation at a time: a restore during a backup (or two restores)
    // would make both results meaningless.
    const exclusive = async <T>(operation: string, work: () => Promise<T>): Promise<T> => {

        if (running) {
            throw new BackupError('conflict', `another backup operation is running (${running}); try again when it has finished`);
        }

        running = operation;
        try {
            return await work();
        }
        finally {
            running = null;
        }
    };

    const list = async (): Promise<BackupEntry[]> => {

        let files: string[];
        try {
            files = await Fs.promises.readdir(dir);
        }
        catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
                return [];
            }

            throw error;
        }

        const entries: BackupEntry[] = [];
        for (const file of files) {
            const parsed = parseBackupName(file);
            // Names carry the label, or nothing when it would repeat the
            // prefix (older backups of such a database repeat it).
            if (!parsed || (parsed.database !== nameLabel(label) && parsed.database !== label)) {
                continue;
            }

            const stat = await Fs.promises.stat(Path.join(dir, file)).catch(() => null);
            if (!stat?.isFile()) {
                continue;
            }

            const manifest = await readManifest(Path.join(dir, manifestName(file)));
            entries.push({
                name: file,
                format: parsed.format,
                createdAt: parsed.createdAt.toISOString(),
                size: stat.size,
                manifest: manifest?.name === file ? manifest : null
            });
        }

        return entries.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.name.localeCompare(a.name));
    };

    /** The entry of a listed backup; anything else (paths, other databases, typos) is refused. */
    const resolve = async (name: unknown): Promise<BackupEntry> => {

        if (typeof name !== 'string' || !parseBackupName(name)) {
            throw new BackupError('invalid', `"${String(name).slice(0, 200)}" is not a backup name; use a name from the backup list`);
        }

        const entry = (await list()).find((candidate) => candidate.name === name);
        if (!entry) {
            throw new BackupError('not-found', `there is no backup named ${name} in the backup directory`);
        }

        return entry;
    };

    const checkChecksum = async (entry: BackupEntry): Promise<VerifyReport['checksum']> => {

        if (!entry.manifest) {
            return 'not recorded';
        }

        const actual = await sha256File(Path.join(dir, entry.name));
        return actual === entry.manifest.sha256 && entry.size === entry.manifest.size ? 'ok' : 'mismatch';
    };

    const recordVerification = async (entry: BackupEntry, verification: BackupVerification) => {

        if (entry.manifest) {
            await writeJsonAtomic(Path.join(dir, manifestName(entry.name)), { ...entry.manifest, verification });
        }
    };

    /** Refuses a restore that cannot work before anything starts: unknown name, no manifest, bad table list. */
    const checkRestore = async (name: unknown, tables?: readonly string[]): Promise<BackupEntry> => {

        const entry = await resolve(name);
        const manifest = entry.manifest;
        if (!manifest) {
            throw new BackupError('unsupported', `${entry.name} has no manifest; restore it by hand as docs/POSTGRESQL_BACKUP_GUIDE.md shows`);
        }

        if (tables !== undefined) {
            if (!Array.isArray(tables) || !tables.length || new Set(tables).size !== tables.length) {
                throw new BackupError('invalid', 'tables must be a non-empty list of distinct table names');
            }

            const unknown = tables.filter((table) => typeof table !== 'string' || !Object.hasOwn(manifest.tables, table));
            if (unknown.length) {
                throw new BackupError('invalid', `not tables of this backup: ${unknown.map(String).join(', ')}`);
            }
        }

        return entry;
    };

    return {
        dialect: driver.dialect,
        database: driver.database,
        confirmationName: driver.confirmationName,
        formats: driver.formats,
        defaultFormat: driver.defaultFormat,
        backupDir: dir,
        busy: () => running,
        list,

        create(create = {}) {

            return exclusive('create', async () => {

                const format = create.format ?? driver.defaultFormat;
                if (!driver.formats.includes(format)) {
                    throw new BackupError('invalid', `format must be one of ${driver.formats.join(', ')} for ${driver.dialect}`);
                }

                try {
                    await makeDirectory(dir, 0o700);
                    await Fs.promises.access(dir, Fs.constants.W_OK);
                }
                catch (error) {
                    throw new BackupError('failed', `cannot write to the backup directory ${dir} (BACKUP_DIR): ${(error as Error).message}`);
                }

                // The unique part keeps two instances writing to one backup
                // directory in the same second apart; each job only ever
                // writes and removes files of its own name.
                const started = now();
                const name = backupName(label, started, format, create.unique ?? randomBytes(4).toString('hex'));
                if (Fs.existsSync(Path.join(dir, name)) || Fs.existsSync(Path.join(dir, partialName(name)))) {
                    throw new BackupError('conflict', `a backup named ${name} already exists`);
                }

                const final = Path.join(dir, name);
                const temp = Path.join(dir, partialName(name));
                try {
                    const result = await driver.dump(temp, format, create);
                    create.onProgress?.({ phase: 'computing the checksum' });
                    // A backup holds every row of the library: readable by the server's user only.
                    await Fs.promises.chmod(temp, 0o600);
                    await fsyncFile(temp);
                    const size = (await Fs.promises.stat(temp)).size;
                    const manifest: BackupManifest = {
                        name,
                        database: driver.database,
                        dialect: driver.dialect,
                        format,
                        createdAt: started.toISOString(),
                        size,
                        sha256: await sha256File(temp),
                        serverVersion: result.serverVersion,
                        toolVersion: result.toolVersion,
                        tables: result.tables,
                        durationMs: now().getTime() - started.getTime()
                    };

                    // The manifest first: a listed backup then always has one.
                    await writeJsonAtomic(Path.join(dir, manifestName(name)), manifest);
                    await Fs.promises.rename(temp, final);
                    return manifest;
                }
                catch (error) {
                    await Fs.promises.rm(temp, { force: true });
                    await Fs.promises.rm(Path.join(dir, manifestName(name)), { force: true });
                    throw error instanceof BackupError ? error : new BackupError('failed', `backup failed: ${(error as Error).message}`);
                }
            });
        },

        async verify(name, run = {}) {

            const entry = await resolve(name);
            return await exclusive('verify', async () => {

                const report: VerifyReport = { name: entry.name, ok: false, checksum: 'not recorded', tables: {}, problems: [] };
                run.onProgress?.({ phase: 'checking the checksum' });
                report.checksum = await checkChecksum(entry);
                if (report.checksum === 'mismatch') {
                    report.problems.push('the file does not match the checksum in its manifest (changed or damaged after the backup)');
                }
                else {
                    try {
                        const counts = await driver.scratchCounts(Path.join(dir, entry.name), entry.format, run);
                        const expected = entry.manifest?.tables ?? {};
                        for (const table of new Set([...Object.keys(expected), ...Object.keys(counts)])) {
                            const row = { expected: expected[table] ?? null, actual: counts[table] ?? null };
                            report.tables[table] = row;
                            if (entry.manifest && row.expected !== row.actual) {
                                report.problems.push(`${table}: ${row.actual ?? 'missing'} rows restored, ${row.expected ?? 'none'} in the manifest`);
                            }
                        }
                    }
                    catch (error) {
                        report.problems.push((error as Error).message);
                    }
                }

                report.ok = report.problems.length === 0;
                const detail = report.ok ?
                    (entry.manifest ? `checksum and ${Object.keys(report.tables).length} table counts match` : 'restored; no manifest, so checksum and counts were not compared') :
                    report.problems.join('; ');
                await recordVerification(entry, { ok: report.ok, at: now().toISOString(), detail });
                return report;
            });
        },

        find: resolve,
        checkRestore,

        async restore(name, restore = {}) {

            const entry = await checkRestore(name, restore.tables);
            const manifest = entry.manifest!;
            return await exclusive('restore', async () => {

                // A damaged file is never loaded, not even partly.
                restore.onProgress?.({ phase: 'checking the checksum' });
                if (await checkChecksum(entry) !== 'ok') {
                    throw new BackupError('failed', `${entry.name} does not match the checksum in its manifest; it was not restored`);
                }

                return await driver.restore(Path.join(dir, entry.name), manifest, restore);
            });
        },

        prune(prune = {}) {

            return exclusive('prune', async () => {

                const entries = await list();
                const plan = planRetention(entries.map((entry) => ({ name: entry.name, createdAt: new Date(entry.createdAt) })), options.retention, now());
                if (!prune.dryRun) {
                    for (const name of plan.remove) {
                        await Fs.promises.rm(Path.join(dir, name), { force: true });
                        await Fs.promises.rm(Path.join(dir, manifestName(name)), { force: true });
                    }
                }

                return { ...plan, dryRun: Boolean(prune.dryRun) };
            });
        }
    };
}
