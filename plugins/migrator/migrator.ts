// The data migrator: copies every application table from a source database
// to a target database that has the schema, SQLite ⇄ PostgreSQL. A plain
// module: the CLI (scripts/migrate-data.ts) and the plugin both wrap it.

import Fs from 'node:fs';
import Path from 'node:path';
import type { Knex } from 'knex';

import { checkConnection, createDatabaseEngine, DatabaseUnreachableError } from '../../server/db/engine';
import { migrationConfig, migrationStatus } from '../../server/db/migrations';
import type { DatabaseEngine } from '../../server/db/types';
import { parseDatabaseUrl, redactSecrets, redactUrl, type DatabaseType } from '../../server/db/url';
import { derivedSearchStorage, rebuildSearchStorage } from '../../server/search/storage';
import {
    clearCheckpoints, dropCheckpointTables, ensureCheckpointTables, forgetChecksums, hasCheckpointTables, loadCheckpoints,
    loadDeferred, readState, saveCheckpoint, writeState, type Checkpoint
} from './checkpoints';
import { CHECKSUM_ALGORITHM, differingColumns, TableChecksum } from './checksum';
import { cursorOf, readPage, tableChecksum } from './reading';
import { postgresMigrator } from './dialects/postgres';
import { sqliteMigrator } from './dialects/sqlite';
import type { ChangeWatch, DeferredObject, EncodedBatch, MigratorDialect } from './dialects/types';
import { MAINTENANCE_CACHE_MS, setMaintenance } from '../../server/maintenance';
import { sharedColumns, tableLevels, tableOrder, validateSchemas } from './schema-check';
import { INVALID_VALUES_REPORTED, keyText, rowsToReject, scanSource, writeRejectFile } from './preflight';
import type { Catalog, ColumnInfo, MigrateOptions, MigrationReport, ProgressEvent, Side, TableReport } from './types';

export type * from './types';
export { validateSchemas, tableOrder };

export const DEFAULT_BATCH_SIZE = 1000;
export const DEFAULT_REJECT_FILE = 'migration-rejects.jsonl';
export const MIGRATION_MAINTENANCE_MESSAGE = 'The library is being moved to another database: reads work, writes are refused until the move is over.';
export const MAX_BATCH_SIZE = 50_000;
const DIFFERING_KEYS_SHOWN = 10;

const dialects: Record<DatabaseType, MigratorDialect> = { sqlite: sqliteMigrator, postgres: postgresMigrator };

/** Invalid options: nothing was opened or written (the CLI exits 2). */
export class MigrationUsageError extends Error {

    constructor(message: string) {

        super(message);
        this.name = 'MigrationUsageError';
    }
}

/** The run stopped before or while writing, for a reason stated in the message. */
export class MigrationAbortedError extends Error {}

interface Context {
    options: Required<Pick<MigrateOptions, 'batchSize' | 'validate' | 'verifyRows'>> & MigrateOptions;
    source: Side;
    target: Side;
    /** The SQLite target file as opened (sqliteFileIdentity), null for PostgreSQL. */
    targetFile: string | null;
    /** Per table, the keys (keyText) of the source rows the pre-flight set aside. */
    rejected: Map<string, Set<string>>;
    emit(event: ProgressEvent): void;
}

/** Checks options without opening anything; throws MigrationUsageError. */
export function checkMigrateOptions(options: MigrateOptions): void {

    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
        throw new MigrationUsageError(`batch size must be an integer from 1 to ${MAX_BATCH_SIZE}`);
    }

    if (options.onInvalid !== undefined && options.onInvalid !== 'fail' && options.onInvalid !== 'reject') {
        throw new MigrationUsageError(`--on-invalid must be fail or reject, not "${String(options.onInvalid)}"`);
    }

    if (options.rejectFile !== undefined && options.onInvalid !== 'reject') {
        throw new MigrationUsageError('a reject file is only written with --on-invalid reject');
    }

    if (options.resume && options.truncate) {
        throw new MigrationUsageError('--resume and --truncate exclude each other: resume continues a run, truncate starts over');
    }

    for (const table of options.tables ?? []) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) {
            throw new MigrationUsageError(`"${table}" is not a table name`);
        }
    }

    let source;
    let target;
    try {
        source = parseDatabaseUrl(options.source, options.baseDir);
        target = parseDatabaseUrl(options.target, options.baseDir);
    }
    catch (error) {
        throw new MigrationUsageError((error as Error).message);
    }

    if (source.type === 'sqlite' && source.filename === ':memory:' || target.type === 'sqlite' && target.filename === ':memory:') {
        throw new MigrationUsageError('an in-memory SQLite database cannot be migrated from or to');
    }

    const same = source.type === 'sqlite' && target.type === 'sqlite' ? source.filename === target.filename :
        source.type === 'postgres' && target.type === 'postgres' && new URL(source.connectionString).toString() === new URL(target.connectionString).toString();
    if (same) {
        throw new MigrationUsageError('source and target are the same database');
    }

    if (source.type === 'sqlite' && !Fs.existsSync(source.filename)) {
        throw new MigrationUsageError(`the source SQLite file ${source.filename} does not exist`);
    }

    for (const [role, side] of [['source', source], ['target', target]] as const) {
        if (side.type === 'sqlite' && Fs.statSync(side.filename, { throwIfNoEntry: false })?.isDirectory()) {
            throw new MigrationUsageError(`the ${role} ${side.filename} is a directory, not a SQLite file`);
        }
    }
}

/** The file a SQLite target was opened as (device and inode), or null for PostgreSQL. */
function sqliteFileIdentity(url: string, baseDir: string | undefined): string | null {

    const parsed = parseDatabaseUrl(url, baseDir);
    if (parsed.type !== 'sqlite') {
        return null;
    }

    const stat = Fs.statSync(parsed.filename, { throwIfNoEntry: false });
    return stat ? `${stat.dev}:${stat.ino}` : 'missing';
}

function emptyReport(options: MigrateOptions): MigrationReport {

    const now = new Date().toISOString();
    return {
        source: redactUrl(options.source),
        target: redactUrl(options.target),
        sourceType: parseDatabaseUrl(options.source, options.baseDir).type,
        targetType: parseDatabaseUrl(options.target, options.baseDir).type,
        dryRun: Boolean(options.dryRun),
        resumed: false,
        validated: Boolean(options.validate || options.verifyRows),
        startedAt: now,
        finishedAt: now,
        durationMs: 0,
        totalRows: 0,
        rowsPerSecond: 0,
        appliedMigrations: [],
        pendingMigrations: [],
        schemaIssues: [],
        maintenance: false,
        sourceChanged: null,
        invalidValues: [],
        rejectedRows: 0,
        rejectFile: null,
        warnings: [],
        tables: [],
        phases: {},
        peakRssMb: 0,
        ok: false,
        fatal: null
    };
}

function openSide(url: string, options: MigrateOptions): DatabaseEngine {

    const type = parseDatabaseUrl(url, options.baseDir).type;
    return createDatabaseEngine(url, dialects[type].poolOverrides, { baseDir: options.baseDir });
}

async function connect(engine: DatabaseEngine, role: string): Promise<void> {

    try {
        // A connection of its own first: a refused connection, a wrong
        // password or a missing database is reported at once as what it is,
        // not as a pool timeout after the acquire timeout.
        await checkConnection(engine);
        await engine.knex.raw('SELECT 1');
    }
    catch (error) {
        const reason = error instanceof DatabaseUnreachableError ? error.reason : redactSecrets((error as Error).message);
        throw new MigrationAbortedError(`cannot connect to the ${role} database ${engine.target}: ${reason}`);
    }
}

/**
 * Migrates the data. Invalid options throw MigrationUsageError before
 * anything is opened; every other outcome, including a refusal, is a report
 * (ok false with `fatal` set, or per-table errors).
 */
export async function migrateData(input: MigrateOptions): Promise<MigrationReport> {

    checkMigrateOptions(input);
    const options = {
        ...input,
        batchSize: input.batchSize ?? DEFAULT_BATCH_SIZE,
        validate: Boolean(input.validate || input.verifyRows),
        verifyRows: Boolean(input.verifyRows)
    };
    const report = emptyReport(options);
    const started = Date.now();
    const emit = (event: ProgressEvent) => options.onProgress?.(event);

    const targetParsed = parseDatabaseUrl(options.target, options.baseDir);
    if (options.dryRun && targetParsed.type === 'sqlite' && !Fs.existsSync(targetParsed.filename)) {
        report.warnings.push(`the target SQLite file ${targetParsed.filename} does not exist; a real run creates it and applies every migration`);
    }

    const sourceEngine = openSide(options.source, options);
    let targetEngine: DatabaseEngine | null = null;
    try {
        await connect(sourceEngine, 'source');
        if (options.dryRun && targetParsed.type === 'sqlite' && !Fs.existsSync(targetParsed.filename)) {
            // Nothing to compare with: report what would move.
            const catalog = await dialects[sourceEngine.type].readCatalog(sourceEngine.knex);
            const tables = selectTables(catalog, options.tables);
            for (const table of tableOrder(tables, catalog)) {
                report.tables.push(tableReport(table, await countRows(sourceEngine.knex, table), 'dry-run'));
            }

            report.ok = true;
            return report;
        }

        // A table list naming a table the source lacks is refused before the
        // target is opened (which creates a missing SQLite file).
        if (options.tables?.length) {
            selectTables(await dialects[sourceEngine.type].readCatalog(sourceEngine.knex), options.tables);
        }

        targetEngine = openSide(options.target, options);
        await connect(targetEngine, 'target');
        const targetFile = sqliteFileIdentity(options.target, options.baseDir);
        await run(options, report, sourceEngine, targetEngine, targetFile, emit);
        checkTargetFile(options, targetFile);
    }
    catch (error) {
        report.fatal = redactSecrets(error instanceof MigrationAbortedError ? error.message : `${(error as Error).message}`);
        report.ok = false;
    }
    finally {
        if (report.maintenance && !report.ok) {
            // A failed run gives the library its writes back; a successful one
            // leaves it read-only until the switch to the target.
            await setMaintenance(sourceEngine.knex, { enabled: false, changedBy: 'data migration (failed)' }).then(() => {

                report.maintenance = false;
                report.warnings.push('maintenance mode was turned off again in the source because the run failed');
            }, (error: Error) => {

                report.warnings.push(`maintenance mode is still on in the source (turning it off failed: ${redactSecrets(error.message)}); turn it off with POST /ops/maintenance`);
            });
        }

        await sourceEngine.destroy();
        await targetEngine?.destroy();
        report.finishedAt = new Date().toISOString();
        report.durationMs = Date.now() - started;
        report.totalRows = report.tables.reduce((sum, table) => sum + table.copiedRows, 0);
        report.rowsPerSecond = rate(report.totalRows, report.durationMs);
        report.peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    }

    return report;
}

/** Like migrationStatus(), without creating knex's tables in a database that has none (knex's list() would). */
async function targetMigrationStatus(knex: Knex): Promise<{ completed: string[]; pending: string[] }> {

    if (await knex.schema.hasTable(migrationConfig.tableName!)) {
        return await migrationStatus(knex);
    }

    const pending = Fs.readdirSync(migrationConfig.directory as string)
        .filter((name) => (migrationConfig.loadExtensions ?? ['.ts']).some((extension) => name.endsWith(extension)) && !name.endsWith('.d.ts'))
        .sort();
    return { completed: [], pending };
}

function rate(rows: number, ms: number): number {

    return ms > 0 ? Math.round(rows * 1000 / ms) : 0;
}

function tableReport(table: string, sourceRows: number, status: TableReport['status']): TableReport {

    return {
        table, sourceRows, targetRows: null, copiedRows: 0, checksumMatch: null, sourceChecksum: null, targetChecksum: null,
        durationMs: 0, rowsPerSecond: 0, status, errors: [], rejectedRows: 0
    };
}

function selectTables(catalog: Catalog, wanted: readonly string[] | undefined): string[] {

    const all = [...catalog.keys()].sort();
    if (!wanted?.length) {
        return all;
    }

    const unknown = wanted.filter((name) => !catalog.has(name));
    if (unknown.length) {
        throw new MigrationAbortedError(`unknown table(s) ${unknown.join(', ')}; the source has: ${all.join(', ')}`);
    }

    return [...new Set(wanted)];
}

async function countRows(knex: Knex, table: string): Promise<number> {

    const [{ count }] = await knex(table).count({ count: '*' });
    return Number(count);
}

/** Writes into a SQLite file removed while open land in no file anyone can open: the run fails instead. */
function checkTargetFile(options: MigrateOptions, opened: string | null): void {

    if (opened !== sqliteFileIdentity(options.target, options.baseDir)) {
        throw new MigrationAbortedError(`the target SQLite file ${redactUrl(options.target)} was removed or replaced during the run: the rows written are not in it. Run again into the file now at that path`);
    }
}

async function run(options: Context['options'], report: MigrationReport, sourceEngine: DatabaseEngine, targetEngine: DatabaseEngine, targetFile: string | null, emit: Context['emit']): Promise<void> {

    let mark = Date.now();
    const phaseDone = (name: string) => {

        report.phases[name] = Date.now() - mark;
        mark = Date.now();
    };

    // 1. The target's schema, from the one knex migration history (never seeds).
    const status = await targetMigrationStatus(targetEngine.knex);
    report.pendingMigrations = status.pending;
    if (status.pending.length) {
        if (options.dryRun) {
            report.warnings.push(`the target has ${status.pending.length} pending migration(s) that a real run applies first: ${status.pending.join(', ')}`);
        }
        else if (options.migrate === false) {
            throw new MigrationAbortedError(`the target schema is not up to date (${status.pending.length} pending migration(s): ${status.pending.join(', ')}); run \`npm run migrate\` with DATABASE_URL set to the target, or drop --no-migrate`);
        }
        else {
            // Refuse an occupied target before the migrations write to it.
            if (!options.resume && !options.truncate) {
                for (const table of (await dialects[targetEngine.type].readCatalog(targetEngine.knex)).keys()) {
                    if (await targetEngine.knex(table).first(targetEngine.knex.raw('1'))) {
                        throw new MigrationAbortedError(`the target is not empty (table ${table} has rows) and its schema is not up to date; nothing was written. Bring it up to date with \`npm run migrate\`, then use --truncate or --resume`);
                    }
                }
            }

            emit({ type: 'phase', phase: 'migrate', message: `applying ${status.pending.length} migration(s) to the target` });
            const [, applied] = await targetEngine.knex.migrate.latest(migrationConfig) as [number, string[]];
            report.appliedMigrations = applied;
            report.pendingMigrations = [];
        }
    }

    phaseDone('migrate');

    // 2. Catalogs and schema validation, before any row moves.
    emit({ type: 'phase', phase: 'schema', message: 'reading catalogs and validating schemas' });
    const source: Side = { engine: sourceEngine, dialect: dialects[sourceEngine.type], catalog: await dialects[sourceEngine.type].readCatalog(sourceEngine.knex) };
    const target: Side = { engine: targetEngine, dialect: dialects[targetEngine.type], catalog: await dialects[targetEngine.type].readCatalog(targetEngine.knex) };
    const selected = selectTables(source.catalog, options.tables);
    const { issues, warnings } = validateSchemas(source.catalog, target.catalog, selected);
    if (options.dryRun && report.pendingMigrations.length) {
        // The target's tables do not exist yet; a real run checks them after migrating.
        report.warnings.push('the schemas are compared once the migrations have been applied');
    }
    else {
        report.schemaIssues = issues;
        report.warnings.push(...warnings);
    }

    if (report.schemaIssues.length) {
        throw new MigrationAbortedError(`the schemas do not match (${issues.length} issue(s)); nothing was written. First: ${issues[0]!.table}: ${issues[0]!.message}`);
    }

    const levels = tableLevels(selected, source.catalog, target.catalog);
    const order = levels.flat();
    const ctx: Context = { options, source, target, targetFile, rejected: new Map(), emit };

    // 2b. Pre-flight: values the target cannot hold, before any row moves.
    // A dry run into a target without the schema yet checks against the
    // columns the migrations will create: the source's, which come from the
    // same migrations.
    emit({ type: 'phase', phase: 'preflight', message: 'scanning the source for values the target cannot hold' });
    ctx.rejected = await preflight(report.pendingMigrations.length ? { ...ctx, target: { ...target, catalog: source.catalog } } : ctx, order, report);

    phaseDone('preflight');

    // 2c. Maintenance mode on the source (the running library turns
    // read-only), then a watch for writes to the source from here on.
    if (options.maintenance && !options.dryRun) {
        await enterMaintenance(source, report, emit);
    }

    const watch = options.dryRun ? null : await source.dialect.watchChanges(source.engine.knex, order);
    try {
        await copyAndFinish(ctx, report, levels, order, watch, phaseDone);
    }
    finally {
        await watch?.close();
    }
}

/** Sets the source read-only and waits until every server instance has seen it. */
async function enterMaintenance(source: Side, report: MigrationReport, emit: Context['emit']): Promise<void> {

    emit({ type: 'phase', phase: 'maintenance', message: 'making the source library read-only (maintenance mode)' });
    try {
        await setMaintenance(source.engine.knex, { enabled: true, message: MIGRATION_MAINTENANCE_MESSAGE, changedBy: 'data migration' });
    }
    catch (error) {
        throw new MigrationAbortedError(`cannot turn maintenance mode on in the source: ${redactSecrets((error as Error).message)}`);
    }

    report.maintenance = true;
    // Instances read the switch at most MAINTENANCE_CACHE_MS apart; the
    // margin lets writes already past the check commit before the watch starts.
    await new Promise((resolve) => setTimeout(resolve, MAINTENANCE_CACHE_MS + 500));
}

async function copyAndFinish(ctx: Context, report: MigrationReport, levels: string[][], order: string[], watch: ChangeWatch | null, phaseDone: (name: string) => void): Promise<void> {

    const { options, source, target, emit } = ctx;
    let mark = Date.now();
    // 3. Refuse a target that already holds data unless told what to do with it.
    const counts = new Map<string, number>();
    for (const table of order) {
        counts.set(table, await countRows(source.engine.knex, table));
    }

    const occupied: string[] = [];
    if (!report.pendingMigrations.length) {
        for (const table of order) {
            if (await target.engine.knex(table).first(target.catalog.get(table)!.primaryKey[0] ?? '*')) {
                occupied.push(table);
            }
        }
    }

    let checkpoints = new Map<string, Checkpoint>();
    const haveCheckpoints = !report.pendingMigrations.length && await hasCheckpointTables(target.engine.knex);
    const runKey = JSON.stringify({ source: redactUrl(options.source), tables: [...order].sort() });
    if (options.resume) {
        if (haveCheckpoints) {
            const previous = await readState(target.engine.knex, 'run');
            if (previous && previous !== runKey) {
                throw new MigrationAbortedError(`the checkpoints in the target belong to another run (${previous}); use --truncate to start over`);
            }

            if (await readState(target.engine.knex, 'checksum') !== CHECKSUM_ALGORITHM) {
                // Running checksums of another kind (a run by an older
                // version): validation hashes those tables' source again.
                await forgetChecksums(target.engine.knex);
            }

            checkpoints = await loadCheckpoints(target.engine.knex);
            report.resumed = true;
        }
        else if (occupied.length) {
            throw new MigrationAbortedError(`nothing to resume: the target has no checkpoints but table ${occupied[0]} has rows; use --truncate to start over`);
        }
    }
    else if (occupied.length && !options.truncate) {
        throw new MigrationAbortedError(`the target is not empty (table ${occupied.join(', ')} has rows); use --truncate to empty it first or --resume to continue an interrupted run. Nothing was written`);
    }

    if (options.dryRun) {
        for (const table of order) {
            const done = checkpoints.get(table)?.rows ?? 0;
            const entry = tableReport(table, counts.get(table)!, 'dry-run');
            entry.rejectedRows = ctx.rejected.get(table)?.size ?? 0;
            entry.targetRows = report.pendingMigrations.length ? 0 : await countRows(target.engine.knex, table);
            entry.copiedRows = 0;
            if (options.resume && done) {
                report.warnings.push(`${table}: ${done} row(s) already copied; ${counts.get(table)! - done} would move`);
            }

            report.tables.push(entry);
        }

        report.ok = true;
        return;
    }

    // 4. Prepare the target: empty it if asked, checkpoints, objects set aside.
    if (options.truncate && occupied.length) {
        emit({ type: 'phase', phase: 'truncate', message: `emptying ${order.length} target table(s)` });
        await target.dialect.truncate(target.engine.knex, [...order].reverse());
    }

    await ensureCheckpointTables(target.engine.knex);
    if (!report.resumed) {
        await clearCheckpoints(target.engine.knex);
        await writeState(target.engine.knex, 'run', runKey);
    }

    await writeState(target.engine.knex, 'checksum', CHECKSUM_ALGORITHM);

    const deferred = await deferObjects(target, order);
    const search = planSearchRebuild(target.engine.type, deferred, order);

    phaseDone('prepare');
    emit({ type: 'plan', tables: order.map((table) => ({ table, rows: counts.get(table)!, done: checkpoints.get(table)?.rows ?? 0 })) });

    // 5. Copy level by level (parents before children); an error stops only its own table.
    const reports = new Map<string, TableReport>();
    for (const table of order) {
        const entry = tableReport(table, counts.get(table)!, 'ok');
        entry.rejectedRows = ctx.rejected.get(table)?.size ?? 0;
        reports.set(table, entry);
        report.tables.push(entry);
    }

    // Parents before children, unless the target loads without foreign keys:
    // then one level, so a table slowed by work in the database (search
    // vectors computed as rows arrive) overlaps the others. That table goes
    // first, then the largest.
    const remaining = (table: string) => counts.get(table)! - (checkpoints.get(table)?.rows ?? 0);
    const slow = (table: string) => (SEARCH_SOURCE_TABLES.includes(table) ? 0 : 1);
    const loadLevels = target.dialect.loadsWithoutForeignKeys ?
        [[...order].sort((a, b) => slow(a) - slow(b) || remaining(b) - remaining(a))] :
        levels;
    const searchCopied = new Set<string>();
    try {
        for (const level of loadLevels) {
            await inParallel(level, target.dialect.copyConcurrency, async (table) => {

                if (options.signal?.aborted) {
                    throw new MigrationAbortedError('cancelled; run again with --resume to continue');
                }

                await copyTable(ctx, table, reports.get(table)!, checkpoints.get(table) ?? null);
                if (search.besideCopy && search.sources.includes(table) && reports.get(table)!.status !== 'failed') {
                    searchCopied.add(table);
                    if (search.sources.every((name) => searchCopied.has(name))) {
                        emit({ type: 'phase', phase: 'search', message: 'rebuilding search data beside the rest of the copy' });
                        startSearchRebuild(target, search, report);
                    }
                }
            });
        }
    }
    catch (error) {
        // A cancelled run reports only once nothing it started still writes
        // (a --resume rebuilds the search data again).
        if (search.running) {
            emit({ type: 'phase', phase: 'search', message: 'waiting for the search rebuild to finish before stopping' });
            await search.running.catch(() => undefined);
        }

        throw error;
    }

    phaseDone('copy');

    // Rows written to the source after their batch was copied are not in the target.
    const changed = await watch!.changes();
    mark = Date.now();
    if (changed.length) {
        report.sourceChanged = changed;
        if (report.maintenance) {
            throw new MigrationAbortedError(`the source changed during the copy although maintenance mode was on (${changed.join(', ')}): something writes to it without going through the server. Stop it, then run again with --truncate`);
        }

        report.warnings.push(`the source was written during the copy (${changed.join(', ')}): the target may be stale. Run again with --truncate and --maintenance, which makes the library read-only while it moves`);
    }

    // 6. Restore what was set aside, rebuild derived search data, reset
    // sequences; 7. validate: counts always, content checksums when asked.
    // Validation (mostly work here) reads the target while the restore
    // (mostly work in the database) runs.
    emit({ type: 'phase', phase: 'finish', message: 'restoring triggers, rebuilding search data and indexes' });
    const restoring = (async () => {

        const failures = await restoreObjects(target, search, report);
        await target.dialect.afterLoad(target.engine.knex, order);
        report.phases.finish = Date.now() - mark;
        return failures;
    })();
    const validate = async (reader: DatabaseEngine) => {

        emit({ type: 'phase', phase: 'validate', message: options.validate ? 'validating counts and checksums' : 'validating counts' });
        const started = Date.now();
        const readingCtx: Context = reader === target.engine ? ctx : { ...ctx, target: { ...target, engine: reader } };
        for (const table of order) {
            await validateTable(readingCtx, table, reports.get(table)!);
        }

        report.phases.validate = Date.now() - started;
    };

    const reader = target.dialect.validationConnection === 'own' ? openSide(options.target, options) : target.engine;
    let unrestored: string[];
    try {
        [unrestored] = await Promise.all([restoring, validate(reader)]);
    }
    finally {
        if (reader !== target.engine) {
            await reader.destroy();
        }
    }

    if (unrestored.length) {
        report.fatal = `${unrestored.join('; ')}. Fix the cause (for example rows whose parent is missing), then run again with --resume`;
    }

    report.ok = !unrestored.length && report.tables.every((entry) => entry.status === 'ok');
    if (report.ok) {
        await dropCheckpointTables(target.engine.knex);
    }
}

/**
 * Scans the source; with invalid values, stops before anything is written
 * (onInvalid 'fail') or writes their rows, and the rows that reference them,
 * to the reject file and returns their keys, which the copy and validation skip.
 */
async function preflight(ctx: Context, order: readonly string[], report: MigrationReport): Promise<Map<string, Set<string>>> {

    const { options, source, target } = ctx;
    const invalid = await scanSource(source, target, order);
    report.invalidValues = invalid.slice(0, INVALID_VALUES_REPORTED).map(({ row: _row, ...value }) => value);
    if (!invalid.length) {
        return new Map();
    }

    const first = invalid[0]!;
    if (options.onInvalid !== 'reject') {
        throw new MigrationAbortedError(`the source holds ${invalid.length} value(s) the target cannot hold; nothing was written. First: ${first.table} ${JSON.stringify(first.key)} column ${first.column}: ${first.reason} (${first.hint}). Fix them, or run with --on-invalid reject to copy the rest and write those rows to a reject file`);
    }

    const rejected = await rowsToReject(source, order, invalid);
    if (options.dryRun) {
        report.rejectedRows = [...rejected.values()].reduce((sum, rows) => sum + rows.size, 0);
        report.warnings.push(`${report.rejectedRows} row(s) would be set aside in the reject file`);
    }
    else {
        const file = Path.resolve(options.baseDir ?? '.', options.rejectFile ?? DEFAULT_REJECT_FILE);
        report.rejectedRows = writeRejectFile(file, rejected);
        report.rejectFile = file;
        report.warnings.push(`${report.rejectedRows} row(s) set aside with their reasons in ${file}; they are not in the target`);
    }

    return new Map([...rejected].map(([table, rows]) => [table, new Set(rows.keys())]));
}

/** Records and drops what the bulk load is faster without; returns everything set aside, also by a killed run. */
async function deferObjects(target: Side, tables: readonly string[]): Promise<DeferredObject[]> {

    // Objects set aside by a killed run are still recorded; keep them.
    const saved = await loadDeferred(target.engine.knex);
    const present = await target.dialect.deferrableObjects(target.engine.knex, tables);
    const names = new Set(saved.map((object) => `${object.phase}:${object.name}`));
    const all = [...saved, ...present.filter((object) => !names.has(`${object.phase}:${object.name}`))];
    await target.engine.knex.transaction(async (trx) => {

        await writeState(trx, 'deferred', JSON.stringify(all));
        for (const object of present) {
            await trx.raw(object.drop);
        }
    });
    return all;
}

async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {

    const queue = [...items];
    const worker = async () => {

        for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
            await work(item);
        }
    };

    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
}

// Tables whose derived search data rebuildSearchStorage() recomputes.
const SEARCH_SOURCE_TABLES = ['resources'];

/** When and how the derived search data is recomputed after a load. */
interface SearchRebuild {
    /** The loaded tables include a search source and the row triggers alone do not keep the derived data. */
    needed: boolean;
    /**
     * What the row triggers derive is current: they stayed on for the whole
     * load. A trigger set aside (by a run of an older version being resumed)
     * means some rows lack it, and the rebuild recomputes it (on PostgreSQL
     * by rewriting the table).
     */
    derivedColumnsCurrent: boolean;
    /**
     * The rebuild only reads the search sources, so it starts as soon as they
     * are copied and runs beside the copy of the other tables.
     */
    besideCopy: boolean;
    /** The search source tables this run loads. */
    sources: string[];
    /** The rebuild once started (beside the copy or after it). */
    running?: Promise<void>;
}

function planSearchRebuild(type: DatabaseType, deferred: readonly DeferredObject[], tables: readonly string[]): SearchRebuild {

    const storage = derivedSearchStorage[type];
    const sources = tables.filter((table) => SEARCH_SOURCE_TABLES.includes(table));
    const derivedColumnsCurrent = !deferred.some((entry) => entry.phase === 'trigger' && storage.rowTriggers.includes(entry.name));
    const needed = sources.length > 0 && !(derivedColumnsCurrent && storage.rowTriggersSuffice);
    return { needed, derivedColumnsCurrent, besideCopy: needed && derivedColumnsCurrent, sources };
}

/**
 * Starts the rebuild once. The set-aside statement triggers are not needed
 * for it: the migrator writes no search source rows after their copy, and
 * the target is not in use during a migration.
 */
function startSearchRebuild(target: Side, search: SearchRebuild, report: MigrationReport): Promise<void> {

    if (!search.running) {
        const started = Date.now();
        search.running = rebuildSearchStorage(target.engine.knex, target.engine.type, { derivedColumnsCurrent: search.derivedColumnsCurrent })
            .then(() => {

                report.phases.search = Date.now() - started;
            });
        // Awaited by restoreObjects(); a run cancelled before that must not
        // leave the rejection unhandled.
        search.running.catch(() => undefined);
    }

    return search.running;
}

/**
 * Puts back what deferObjects() set aside and rebuilds the derived search
 * data (or waits for the rebuild started beside the copy). Every object is
 * attempted; the ones that fail stay recorded (a --resume tries them again)
 * and are returned.
 */
async function restoreObjects(target: Side, search: SearchRebuild, report: MigrationReport): Promise<string[]> {

    const { knex } = target.engine;
    const deferred = await loadDeferred(knex);
    const failed: Array<{ object: DeferredObject; message: string }> = [];
    const restore = async (object: DeferredObject) => {

        try {
            await target.dialect.restore(knex, object);
        }
        catch (error) {
            failed.push({ object, message: redactSecrets((error as Error).message) });
        }
    };

    const concurrency = target.dialect.restoreConcurrency;
    for (const object of deferred.filter((entry) => entry.phase === 'trigger')) {
        await restore(object);
    }

    // A rebuild that rewrites resources rows comes before resources' indexes;
    // one that only reads them runs beside every index build. Foreign keys
    // last, one at a time: each locks two tables.
    const indexes = deferred.filter((entry) => entry.phase === 'index');
    const later = search.derivedColumnsCurrent ? [] : indexes.filter((entry) => SEARCH_SOURCE_TABLES.includes(entry.table));
    const now = indexes.filter((entry) => !later.includes(entry));
    const rebuild = search.needed ? startSearchRebuild(target, search, report) : Promise.resolve();
    await Promise.all([rebuild, inParallel(now, Math.max(1, concurrency - 1), restore)]);
    await inParallel(later, concurrency, restore);
    for (const object of deferred.filter((entry) => entry.phase === 'constraint')) {
        await restore(object);
    }

    await writeState(knex, 'deferred', JSON.stringify(failed.map((entry) => entry.object)));
    return failed.map(({ object, message }) => `could not restore ${object.phase} ${object.name} on ${object.table}: ${message}`);
}

async function copyTable(ctx: Context, table: string, entry: TableReport, checkpoint: Checkpoint | null): Promise<void> {

    const { options, source, target, emit } = ctx;
    const sourceTable = source.catalog.get(table)!;
    const columns = sharedColumns(sourceTable, target.catalog.get(table)!);
    const state: Checkpoint = checkpoint ?? { table, lastKey: null, rows: 0, batches: 0, checksum: null, completed: false };
    const skipped = ctx.rejected.get(table)?.size ? ctx.rejected.get(table)! : null;
    const checksum = new TableChecksum(state.checksum);
    // A running checksum only counts when it covers every copied row: rows
    // copied by an earlier run without validation make the source be hashed
    // again at validation time instead.
    const hashing = options.validate && (state.rows === 0 || state.checksum !== null);
    const started = Date.now();

    emit({ type: 'table-start', table, rows: entry.sourceRows, done: state.rows });
    if (state.completed) {
        entry.copiedRows = 0;
        entry.sourceChecksum = state.checksum;
        emit({ type: 'table-done', table, report: entry });
        return;
    }

    // Names a failed batch by its keys: the source rows need not be kept for it.
    const batchError = (error: unknown, batch: number, after: unknown[] | null, first: unknown[]) => {

        return Object.assign(new Error(`batch ${batch} (rows after key ${JSON.stringify(after)}, first key ${JSON.stringify(first)}): ${redactSecrets((error as Error).message)}`), { batch });
    };

    // Writes one encoded batch with its checkpoint, in one transaction.
    const writer = target.dialect.openWriter(target.engine.knex);
    const write = async (encoded: EncodedBatch, next: Checkpoint, after: unknown[] | null, first: unknown[]) => {

        try {
            await writer.write(encoded, next);
        }
        catch (error) {
            throw batchError(error, next.batches, after, first);
        }

        Object.assign(state, next);
        entry.copiedRows += encoded.rows;
        emit({ type: 'batch', table, batch: next.batches, rows: encoded.rows, done: state.rows, total: entry.sourceRows });
    };

    // Three pages at a time: the next one is read, and this one hashed and
    // encoded, while the previous one is written. Writes stay one after
    // another, in key order.
    let pending = readPage(source.engine.knex, sourceTable, columns.source, state.lastKey, options.batchSize, true);
    let writing: Promise<void> = Promise.resolve();
    let planned = { lastKey: state.lastKey, rows: state.rows, batches: state.batches };
    try {
        try {
            for (;;) {
                if (options.signal?.aborted) {
                    throw new MigrationAbortedError('cancelled; run again with --resume to continue');
                }

                const page = await pending;
                if (!page.length) {
                    break;
                }

                const cursor = cursorOf(sourceTable, page[page.length - 1]!, true);
                pending = page.length === options.batchSize ? readPage(source.engine.knex, sourceTable, columns.source, cursor, options.batchSize, true) : Promise.resolve([]);
                pending.catch(() => {});
                const rows = skipped ? page.filter((row) => !skipped.has(keyText(sourceTable, row))) : page;
                if (!rows.length) {
                    continue;
                }

                const batch = planned.batches + 1;
                const after = planned.lastKey;
                const first = cursorOf(sourceTable, rows[0]!, true);
                let encoded: EncodedBatch;
                try {
                    if (hashing) {
                        // The target's kinds normalize both sides, so a converted value
                        // and its original hash alike.
                        for (const row of rows) {
                            checksum.add(columns.target, row);
                        }
                    }

                    encoded = target.dialect.encodeBatch(table, columns.target, rows);
                }
                catch (error) {
                    // A value its column cannot hold.
                    throw batchError(error, batch, after, first);
                }

                const next: Checkpoint = {
                    table, lastKey: cursor, rows: planned.rows + rows.length, batches: batch,
                    checksum: hashing ? checksum.toString() : null, completed: false
                };
                planned = next;

                await writing;
                writing = write(encoded, next, after, first);
                writing.catch(() => {});
            }

            await writing;
        }
        catch (error) {
            // Whatever stopped the copy, no write of this table is left running.
            await writing.catch(() => {});
            throw error;
        }
        finally {
            await writer.close();
        }

        state.completed = true;
        await saveCheckpoint(target.engine.knex, state);
        entry.sourceChecksum = hashing ? checksum.toString() : null;
    }
    catch (error) {
        if (error instanceof MigrationAbortedError) {
            throw error;
        }

        await ensureReachable(ctx);
        const batch = (error as { batch?: number }).batch ?? null;
        const message = redactSecrets((error as Error).message);
        entry.status = 'failed';
        entry.errors.push({ table, batch, message });
        emit({ type: 'table-error', table, batch, message });
    }
    finally {
        entry.durationMs = Date.now() - started;
        entry.rowsPerSecond = rate(entry.copiedRows, entry.durationMs);
    }

    emit({ type: 'table-done', table, report: entry });
}

/**
 * After a table failed: when the source or the target cannot be reached any
 * more (dropped, server restarting, file gone), the run stops with that
 * reason instead of failing every remaining table after a pool timeout.
 */
async function ensureReachable(ctx: Context): Promise<void> {

    checkTargetFile(ctx.options, ctx.targetFile);
    for (const [role, side] of [['source', ctx.source], ['target', ctx.target]] as const) {
        try {
            await checkConnection(side.engine);
        }
        catch (error) {
            const reason = error instanceof DatabaseUnreachableError ? error.reason : redactSecrets((error as Error).message);
            throw new MigrationAbortedError(`lost the ${role} database ${side.engine.target} during the run: ${reason}. Nothing after the last committed batch was written; run again with --resume once it is back`);
        }
    }
}

async function validateTable(ctx: Context, table: string, entry: TableReport): Promise<void> {

    try {
        await compareTable(ctx, table, entry);
    }
    catch (error) {
        // One table's trouble (a value that cannot be read back) is that
        // table's error; the others are still validated. A database that is
        // gone stops the run.
        await ensureReachable(ctx);
        entry.status = 'failed';
        entry.errors.push({ table, batch: null, message: `validation: ${redactSecrets((error as Error).message)}` });
    }
}

async function compareTable(ctx: Context, table: string, entry: TableReport): Promise<void> {

    const { options, source, target } = ctx;
    const targetTable = target.catalog.get(table)!;
    const columns = sharedColumns(source.catalog.get(table)!, targetTable);
    entry.sourceRows = await countRows(source.engine.knex, table);
    entry.targetRows = await countRows(target.engine.knex, table);

    // A table whose copy failed cannot match: its counts are reported, and
    // hashing its source (which may hold the value that failed it) is skipped.
    const skipped = ctx.rejected.get(table);
    if (options.validate && entry.status !== 'failed') {
        if (entry.sourceChecksum === null) {
            // A table copied without validation by an earlier run: hash the source now.
            const info = source.catalog.get(table)!;
            entry.sourceChecksum = await tableChecksum(source.engine.knex, info, columns.target, options.batchSize, skipped?.size ? (row) => !skipped.has(keyText(info, row)) : undefined);
        }

        entry.targetChecksum = await tableChecksum(target.engine.knex, targetTable, columns.target, options.batchSize);
        entry.checksumMatch = entry.sourceChecksum === entry.targetChecksum;
    }

    const expected = entry.sourceRows - entry.rejectedRows;
    if (entry.status === 'ok' && (expected !== entry.targetRows || entry.checksumMatch === false)) {
        entry.status = 'mismatch';
        const what = expected !== entry.targetRows ? `row counts differ (source ${entry.sourceRows}${entry.rejectedRows ? ` less ${entry.rejectedRows} set aside` : ''}, target ${entry.targetRows})` : 'content checksums differ';
        entry.errors.push({ table, batch: null, message: what });
    }

    if (options.verifyRows && entry.status !== 'ok') {
        entry.differingKeys = await differingKeys(ctx, table, columns.target);
    }
}

/** The first keys whose rows differ, are missing from the target, or exist only in the target. */
async function differingKeys(ctx: Context, table: string, columns: readonly ColumnInfo[]): Promise<string[]> {

    const found: string[] = [];
    const passes: Array<[Side, Side, string]> = [[ctx.source, ctx.target, 'missing in target'], [ctx.target, ctx.source, 'only in target']];
    for (const [from, to, absent] of passes) {
        const info = from.catalog.get(table)!;
        const key = info.primaryKey;
        let after: unknown[] | null = null;
        for (;;) {
            const rows = await readPage(from.engine.knex, info, columns, after, 1000, false);
            if (!rows.length) {
                break;
            }

            const keys = rows.map((row) => key.map((column) => row[column]));
            const others = await (key.length === 1 ?
                to.engine.knex(table).select(columns.map((column) => column.name)).whereIn(key[0]!, keys.map((values) => values[0]) as any[]) :
                to.engine.knex(table).select(columns.map((column) => column.name)).whereIn(key, keys as any[][]));
            const byKey = new Map(others.map((row: Record<string, unknown>) => [JSON.stringify(key.map((column) => String(row[column]).toLowerCase())), row]));
            for (const row of rows) {
                const id = JSON.stringify(key.map((column) => String(row[column]).toLowerCase()));
                const other = byKey.get(id);
                if (absent === 'missing in target' && ctx.rejected.get(table)?.has(keyText(info, row))) {
                    continue;
                }

                if (!other) {
                    found.push(`${JSON.stringify(Object.fromEntries(key.map((column) => [column, row[column]])))} ${absent}`);
                }
                else if (absent === 'missing in target') {
                    const differing = differingColumns(columns, row, other);
                    if (differing.length) {
                        found.push(`${JSON.stringify(Object.fromEntries(key.map((column) => [column, row[column]])))} differs in ${differing.join(', ')}`);
                    }
                }

                if (found.length >= DIFFERING_KEYS_SHOWN) {
                    return found;
                }
            }

            if (rows.length < 1000) {
                break;
            }

            after = cursorOf(info, rows[rows.length - 1]!, false);
        }
    }

    return found;
}
