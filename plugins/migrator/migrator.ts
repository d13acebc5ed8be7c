// The data migrator: copies every application table from a source database
// to a target database that has the schema, SQLite ⇄ PostgreSQL. A plain
// module: the CLI (scripts/migrate-data.ts) and the plugin both wrap it.

import { checkConnection, createDatabaseEngine, DatabaseUnreachableError } from '../../server/db/engine';
import type { DatabaseEngine } from '../../server/db/types';
import { migrationConfig } from '../../server/db/migrations';
import { parseDatabaseUrl, redactSecrets, redactUrl } from '../../server/db/url';
import { MAINTENANCE_CACHE_MS, setMaintenance } from '../../server/maintenance';
import {
    clearCheckpoints, dropCheckpointTables, ensureCheckpointTables, forgetChecksums, hasCheckpointTables, loadCheckpoints,
    readState, writeState, type Checkpoint
} from './checkpoints';
import { CHECKSUM_ALGORITHM } from './checksum';
import {
    checkTargetFile, countRows, inParallel, MigrationAbortedError, MigrationUsageError, rate, sqliteFileIdentity, tableReport, type Context
} from './context';
import { copyTable } from './copy';
import { migratorDialect } from './dialects';
import type { ChangeWatch } from './dialects/types';
import { selectTables, targetMigrationStatus } from './plan';
import { DEFAULT_REJECT_FILE, runPreflight } from './preflight';
import { deferObjects, planSearchRebuild, restoreObjects, SEARCH_SOURCE_TABLES, startSearchRebuild } from './rebuild';
import { tableLevels, tableOrder, validateSchemas } from './schema-check';
import type { MigrateOptions, MigrationReport, ProgressEvent, Side, TableReport } from './types';
import { validateTable } from './validate';

export type * from './types';
export { validateSchemas, tableOrder, MigrationAbortedError, MigrationUsageError, DEFAULT_REJECT_FILE };

export const DEFAULT_BATCH_SIZE = 1000;
export const MIGRATION_MAINTENANCE_MESSAGE = 'The library is being moved to another database: reads work, writes are refused until the move is over.';
export const MAX_BATCH_SIZE = 50_000;

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

    const same = source.type === target.type && migratorDialect(source.type).sameDatabase(source, target);
    const problem = migratorDialect(source.type).locationProblem(source, 'source') ?? migratorDialect(target.type).locationProblem(target, 'target');
    if (problem) {
        throw new MigrationUsageError(problem);
    }

    if (same) {
        throw new MigrationUsageError('source and target are the same database');
    }
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
    return createDatabaseEngine(url, migratorDialect(type).poolOverrides, { baseDir: options.baseDir, kind: 'direct' });
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
    const notCreated = options.dryRun ? migratorDialect(targetParsed.type).notCreatedYet(targetParsed) : null;
    if (notCreated) {
        report.warnings.push(`the target SQLite file ${notCreated} does not exist; a real run creates it and applies every migration`);
    }

    const sourceEngine = openSide(options.source, options);
    let targetEngine: DatabaseEngine | null = null;
    try {
        await connect(sourceEngine, 'source');
        if (notCreated) {
            // Nothing to compare with: report what would move.
            const catalog = await migratorDialect(sourceEngine.type).readCatalog(sourceEngine.knex);
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
            selectTables(await migratorDialect(sourceEngine.type).readCatalog(sourceEngine.knex), options.tables);
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
                for (const table of (await migratorDialect(targetEngine.type).readCatalog(targetEngine.knex)).keys()) {
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
    const source: Side = { engine: sourceEngine, dialect: migratorDialect(sourceEngine.type), catalog: await migratorDialect(sourceEngine.type).readCatalog(sourceEngine.knex) };
    const target: Side = { engine: targetEngine, dialect: migratorDialect(targetEngine.type), catalog: await migratorDialect(targetEngine.type).readCatalog(targetEngine.knex) };
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
    ctx.rejected = await runPreflight(report.pendingMigrations.length ? { ...ctx, target: { ...target, catalog: source.catalog } } : ctx, order, report);

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

    // A connection opening a SQLite path whose file was replaced would take
    // the old shared memory (-shm) over and truncate it under the writer's
    // mapping (SIGBUS): the path is checked right before.
    checkTargetFile(options, ctx.targetFile);
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
