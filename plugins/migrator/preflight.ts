// Pre-flight: before any row moves, the source is scanned for values the
// target cannot hold. The source dialect selects suspect rows inside the
// database (one scan per table); each suspect value is then checked exactly
// here, by the same conversion the copy would use.

import Fs from 'node:fs';
import Path from 'node:path';

import type { DatabaseType } from '../../server/db/url';
import { makeDirectorySync } from '../../server/fs';
import { toIsoTimestamp } from '../../server/time';
import { sharedColumns } from './schema-check';
import { MigrationAbortedError, type Context } from './context';
import { migratorDialect } from './dialects';
import { canonicalJson, ValueError } from './values';
import type { ColumnInfo, InvalidValue, MigrationReport, Side, TableInfo } from './types';

/** Where --on-invalid reject writes the set-aside rows unless told otherwise. */
export const DEFAULT_REJECT_FILE = 'migration-rejects.jsonl';

/** Invalid values kept in the report; the reject file holds every row. */
export const INVALID_VALUES_REPORTED = 1000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A \u0000 escape in canonical JSON text (JSON.stringify writes NUL so), not an escaped backslash before "u0000".
const JSON_NUL = /(^|[^\\])(\\\\)*\\u0000/;

const INTEGER_RANGE: Record<string, [number, number]> = {
    smallint: [-32768, 32767],
    integer: [-2147483648, 2147483647]
};

export interface Problem {
    reason: string;
    hint: string;
}

function yearOf(iso: string): number {

    return Number(iso.slice(0, iso.indexOf('-', 1)));
}

/** Why `target` (a column of a `targetType` database) cannot hold the source value `raw`, or null when it can. */
export function invalidValue(targetType: DatabaseType, target: ColumnInfo, raw: unknown): Problem | null {

    if (raw === null || raw === undefined) {
        return null;
    }

    const dialect = migratorDialect(targetType);
    if (typeof raw === 'string' && raw.includes('\u0000') && !dialect.storesNul) {
        return { reason: 'text holds a NUL character (\\u0000), which PostgreSQL text cannot store', hint: 'remove the NUL characters in the source, or run with --on-invalid reject' };
    }

    if (target.kind === 'text' && target.maxLength !== null && typeof raw === 'string' && raw.length > target.maxLength && [...raw].length > target.maxLength) {
        return { reason: `${[...raw].length} characters, longer than the ${target.maxLength} of ${target.declared}`, hint: 'shorten the value in the source or widen the target column' };
    }

    if (target.kind === 'uuid' && !UUID.test(String(raw))) {
        return { reason: `not a UUID: ${String(raw).slice(0, 40)}`, hint: 'correct the key in the source' };
    }

    if (target.kind === 'integer') {
        const value = Number(raw);
        const [min, max] = INTEGER_RANGE[target.declared] ?? [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
        if (typeof raw !== 'number' && typeof raw !== 'bigint' && !/^-?\d+$/.test(String(raw)) || !Number.isInteger(value)) {
            return { reason: `not an integer: ${String(raw).slice(0, 40)}`, hint: 'correct the value in the source' };
        }

        if (value < min || value > max) {
            return { reason: `${String(raw)} is outside the range of ${target.declared} (${min} to ${max})`, hint: 'correct the value in the source or widen the target column' };
        }
    }

    if (target.kind === 'json' && !dialect.storesNul) {
        try {
            if (JSON_NUL.test(canonicalJson(target.name, raw))) {
                return { reason: 'JSON text holds \\u0000, which PostgreSQL jsonb cannot store', hint: 'remove the NUL characters in the source, or run with --on-invalid reject' };
            }
        }
        catch (error) {
            return { reason: (error as Error).message.replace(/^column \S+: /, ''), hint: 'correct the JSON in the source' };
        }
    }

    if (target.kind === 'timestamp') {
        let iso: string;
        try {
            iso = toIsoTimestamp(raw)!;
        }
        catch {
            return { reason: `not a date and time: ${String(raw).slice(0, 40)}`, hint: 'correct the value in the source (ISO-8601 UTC, for example 2024-02-29T12:00:00.000Z)' };
        }

        const year = yearOf(iso);
        if (year < dialect.years.min || year > dialect.years.max) {
            return { reason: `${iso} is outside the years ${dialect.years.description} can hold`, hint: 'correct the date in the source' };
        }
    }

    // Whatever else the copy's own conversion refuses.
    try {
        dialect.convertValue(target.kind, target.name, raw);
    }
    catch (error) {
        if (error instanceof ValueError) {
            return { reason: error.message.replace(/^column \S+: /, ''), hint: 'correct the value in the source' };
        }

        throw error;
    }

    return null;
}

export function keyOf(table: TableInfo, row: Record<string, unknown>): Record<string, unknown> {

    return Object.fromEntries(table.primaryKey.map((column) => [column, row[column]]));
}

/** A row's key as one string, for sets of keys. */
export function keyText(table: TableInfo, row: Record<string, unknown>): string {

    return JSON.stringify(table.primaryKey.map((column) => String(row[column])));
}

/** A value the target cannot hold, with the whole row; for text that is not UTF-8, its exact bytes. */
export type InvalidRow = InvalidValue & { row: Record<string, unknown>; bytes?: Buffer };

/** Why text whose bytes are not valid UTF-8 cannot move, naming the first bad byte. */
export function invalidTextProblem(bytes: Buffer): Problem {

    // The valid prefix decodes to itself; the first replacement character marks the first bad byte.
    const decoded = bytes.toString('utf8');
    const at = Buffer.byteLength(decoded.slice(0, Math.max(0, decoded.indexOf('\ufffd'))));
    return {
        reason: `text is not valid UTF-8 (byte 0x${bytes.subarray(at, at + 1).toString('hex')} at offset ${at} of ${bytes.length}): PostgreSQL refuses it, and a copy would read it with U+FFFD in place of the bad bytes`,
        hint: 'store the text as UTF-8 in the source; with --on-invalid reject, the reject file holds its exact bytes in hex'
    };
}

/** Every source value in these tables that the target cannot hold, with the whole rows that hold them. */
export async function scanSource(source: Side, target: Side, tables: readonly string[]): Promise<InvalidRow[]> {

    const found: InvalidRow[] = [];
    const { knex } = source.engine;
    for (const table of tables) {
        const info = source.catalog.get(table)!;
        const columns = sharedColumns(info, target.catalog.get(table)!);
        for (const { key, column, bytes } of await source.dialect.invalidText(knex, info, columns.source)) {
            const row = await knex(table).where(key).first();
            found.push({ table, key, column, ...invalidTextProblem(bytes), row, bytes });
        }

        const suspects = columns.source
            .map((column, i) => source.dialect.suspectValues(knex, column, columns.target[i]!))
            .filter((condition) => condition !== null);
        if (!suspects.length) {
            continue;
        }

        const rows: Array<Record<string, unknown>> = await knex(table).select('*').where((query) => {

            for (const condition of suspects) {
                query.orWhere(condition!);
            }
        }).orderBy(info.primaryKey);
        for (const row of rows) {
            for (const column of columns.target) {
                const problem = invalidValue(target.engine.type, column, row[column.name]);
                if (problem) {
                    found.push({ table, key: keyOf(info, row), column: column.name, ...problem, row });
                }
            }
        }
    }

    return found;
}

export interface RejectedRow {
    table: string;
    key: Record<string, unknown>;
    reasons: Array<{ column: string | null; reason: string }>;
    row: Record<string, unknown>;
    /**
     * Per column of text that is not valid UTF-8: its exact bytes in hex
     * (its value in `row` is null: the driver read it with U+FFFD).
     */
    bytes?: Record<string, string>;
}

/**
 * The rows to set aside: those holding invalid values, and every row that
 * references a set-aside row through a foreign key (it could not be loaded
 * without its parent), to any depth.
 */
export async function rowsToReject(source: Side, tables: readonly string[], invalid: readonly InvalidRow[]): Promise<Map<string, Map<string, RejectedRow>>> {

    const rejected = new Map<string, Map<string, RejectedRow>>(tables.map((table) => [table, new Map()]));
    for (const entry of invalid) {
        const info = source.catalog.get(entry.table)!;
        const id = keyText(info, entry.row);
        const rows = rejected.get(entry.table)!;
        const row = rows.get(id) ?? { table: entry.table, key: entry.key, reasons: [], row: entry.row };
        row.reasons.push({ column: entry.column, reason: entry.reason });
        if (entry.bytes) {
            row.row = { ...row.row, [entry.column]: null };
            row.bytes = { ...row.bytes, [entry.column]: entry.bytes.toString('hex') };
        }

        rows.set(id, row);
    }

    const { knex } = source.engine;
    const done = new Map<string, Set<string>>();
    for (let changed = true; changed;) {
        changed = false;
        for (const table of tables) {
            const info = source.catalog.get(table)!;
            for (const fk of info.foreignKeys) {
                const parents = rejected.get(fk.references);
                if (!parents?.size) {
                    continue;
                }

                const seen = done.get(`${table}:${fk.columns.join(',')}`) ?? new Set<string>();
                done.set(`${table}:${fk.columns.join(',')}`, seen);
                const fresh = [...parents.entries()].filter(([id]) => !seen.has(id));
                for (const [id] of fresh) {
                    seen.add(id);
                }

                for (let start = 0; start < fresh.length; start += 500) {
                    const values = fresh.slice(start, start + 500).map(([, parent]) => fk.referencedColumns.map((column) => parent.row[column]));
                    const children: Array<Record<string, unknown>> = await (fk.columns.length === 1 ?
                        knex(table).select('*').whereIn(fk.columns[0]!, values.map((value) => value[0]) as any[]) :
                        knex(table).select('*').whereIn(fk.columns, values as any[][]));
                    for (const child of children) {
                        const id = keyText(info, child);
                        const rows = rejected.get(table)!;
                        if (!rows.has(id)) {
                            rows.set(id, { table, key: keyOf(info, child), reasons: [{ column: null, reason: `references a set-aside ${fk.references} row (${fk.columns.join(', ')})` }], row: child });
                            changed = true;
                        }
                    }
                }
            }
        }
    }

    return rejected;
}

/** Writes every set-aside row, whole, as one JSON line with its table, key and reasons. */
export function writeRejectFile(file: string, rejected: Map<string, Map<string, RejectedRow>>): number {

    makeDirectorySync(Path.dirname(file));
    const fd = Fs.openSync(file, 'w');
    let count = 0;
    try {
        for (const rows of rejected.values()) {
            for (const entry of rows.values()) {
                Fs.writeSync(fd, `${JSON.stringify(entry)}\n`);
                ++count;
            }
        }
    }
    finally {
        Fs.closeSync(fd);
    }

    return count;
}

/**
 * Scans the source; with invalid values, stops before anything is written
 * (onInvalid 'fail') or writes their rows, and the rows that reference them,
 * to the reject file and returns their keys, which the copy and validation skip.
 */
export async function runPreflight(ctx: Context, order: readonly string[], report: MigrationReport): Promise<Map<string, Set<string>>> {

    const { options, source, target } = ctx;
    const invalid = await scanSource(source, target, order);
    report.invalidValues = invalid.slice(0, INVALID_VALUES_REPORTED).map(({ row: _row, bytes: _bytes, ...value }) => value);
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
