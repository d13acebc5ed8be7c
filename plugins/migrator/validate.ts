// The validate phase: row counts always, content checksums when asked, and
// with verifyRows the keys and columns of the first rows that differ.

import { redactSecrets } from '../../server/db/url';
import { differingColumns } from './checksum';
import { countRows, ensureReachable, type Context } from './context';
import { keyText } from './preflight';
import { cursorOf, readPage, tableChecksum } from './reading';
import { sharedColumns } from './schema-check';
import type { ColumnInfo, Side, TableReport } from './types';

const DIFFERING_KEYS_SHOWN = 10;

export async function validateTable(ctx: Context, table: string, entry: TableReport): Promise<void> {

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

export async function compareTable(ctx: Context, table: string, entry: TableReport): Promise<void> {

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
export async function differingKeys(ctx: Context, table: string, columns: readonly ColumnInfo[]): Promise<string[]> {

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
