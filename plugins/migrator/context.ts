// What every phase of a run shares: the run's context, its two errors, and
// small helpers (table reports, counts, the checks that a database is still there).

import type { Knex } from 'knex';

import { checkConnection, DatabaseUnreachableError } from '../../server/db/engine';
import { parseDatabaseUrl, redactSecrets, redactUrl } from '../../server/db/url';
import { migratorDialect } from './dialects';
import type { MigrateOptions, ProgressEvent, Side, TableReport } from './types';

/** Invalid options: nothing was opened or written (the CLI exits 2). */
export class MigrationUsageError extends Error {

    constructor(message: string) {

        super(message);
        this.name = 'MigrationUsageError';
    }
}

/** The run stopped before or while writing, for a reason stated in the message. */
export class MigrationAbortedError extends Error {}

export interface Context {
    options: Required<Pick<MigrateOptions, 'batchSize' | 'validate' | 'verifyRows'>> & MigrateOptions;
    source: Side;
    target: Side;
    /** The SQLite target file as opened (sqliteFileIdentity), null for PostgreSQL. */
    targetFile: string | null;
    /** Per table, the keys (keyText) of the source rows the pre-flight set aside. */
    rejected: Map<string, Set<string>>;
    emit(event: ProgressEvent): void;
}

/** The file a SQLite target was opened as (device and inode), or null for PostgreSQL. */
export function sqliteFileIdentity(url: string, baseDir: string | undefined): string | null {

    const parsed = parseDatabaseUrl(url, baseDir);
    return migratorDialect(parsed.type).fileIdentity(parsed);
}

/** Writes into a SQLite file removed while open land in no file anyone can open: the run fails instead. */
export function checkTargetFile(options: MigrateOptions, opened: string | null): void {

    if (opened !== sqliteFileIdentity(options.target, options.baseDir)) {
        throw new MigrationAbortedError(`the target SQLite file ${redactUrl(options.target)} was removed or replaced during the run: the rows written are not in it. Run again into the file now at that path`);
    }
}

/**
 * After a table failed: when the source or the target cannot be reached any
 * more (dropped, server restarting, file gone), the run stops with that
 * reason instead of failing every remaining table after a pool timeout.
 */
export async function ensureReachable(ctx: Context): Promise<void> {

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

export function rate(rows: number, ms: number): number {

    return ms > 0 ? Math.round(rows * 1000 / ms) : 0;
}

export function tableReport(table: string, sourceRows: number, status: TableReport['status']): TableReport {

    return {
        table, sourceRows, targetRows: null, copiedRows: 0, checksumMatch: null, sourceChecksum: null, targetChecksum: null,
        durationMs: 0, rowsPerSecond: 0, status, errors: [], rejectedRows: 0
    };
}

export async function countRows(knex: Knex, table: string): Promise<number> {

    const [{ count }] = await knex(table).count({ count: '*' });
    return Number(count);
}

export async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {

    const queue = [...items];
    const worker = async () => {

        for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
            await work(item);
        }
    };

    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
}
