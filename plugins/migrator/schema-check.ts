// validateSchemas and the table order: both read only the catalogs.

import type { Catalog, ColumnInfo, ColumnKind, SchemaIssue, TableInfo } from './types';

// Kinds a value can move between without changing: the same kind, text and
// uuid (PostgreSQL uuid ⇄ SQLite char(36)), and integer into a float column.
const COMPATIBLE: Partial<Record<ColumnKind, ColumnKind[]>> = {
    text: ['uuid'],
    uuid: ['text'],
    integer: ['float']
};

export function kindsCompatible(source: ColumnKind, target: ColumnKind): boolean {

    return source === target || (COMPATIBLE[source] ?? []).includes(target);
}

export interface SchemaValidation {
    issues: SchemaIssue[];
    warnings: string[];
}

/**
 * Every listed source table and column exists on the target with a
 * compatible type, and every target column the source lacks can be left to
 * its default. Issues stop the run before any row moves; warnings do not.
 */
export function validateSchemas(source: Catalog, target: Catalog, tables: readonly string[]): SchemaValidation {

    const issues: SchemaIssue[] = [];
    const warnings: string[] = [];
    for (const name of tables) {
        const from = source.get(name);
        const to = target.get(name);
        if (!from) {
            issues.push({ table: name, message: 'table does not exist in the source' });
            continue;
        }

        if (!to) {
            issues.push({ table: name, message: 'table does not exist in the target' });
            continue;
        }

        const targetColumns = new Map(to.columns.map((column) => [column.name, column]));
        for (const column of from.columns) {
            const other = targetColumns.get(column.name);
            if (!other) {
                issues.push({ table: name, column: column.name, message: `column ${column.name} does not exist in the target` });
                continue;
            }

            if (!kindsCompatible(column.kind, other.kind)) {
                issues.push({ table: name, column: column.name, message: `column ${column.name}: source type ${column.declared} (${column.kind}) cannot be stored in target type ${other.declared} (${other.kind})` });
                continue;
            }

            if (other.maxLength !== null && (column.maxLength === null || column.maxLength > other.maxLength)) {
                // SQLite does not enforce declared lengths, so the data may still fit.
                warnings.push(`${name}.${column.name}: target holds at most ${other.maxLength} characters (source: ${column.maxLength ?? 'unlimited'}); longer values will fail`);
            }
        }

        const sourceNames = new Set(from.columns.map((column) => column.name));
        for (const column of to.columns) {
            if (!sourceNames.has(column.name) && !column.nullable && !column.hasDefault) {
                issues.push({ table: name, column: column.name, message: `target column ${column.name} is NOT NULL without a default and the source has no such column` });
            }
        }

        if (!from.primaryKey.length) {
            issues.push({ table: name, message: 'the source table has no primary key to page by' });
        }
    }

    return { issues, warnings };
}

export class ForeignKeyCycleError extends Error {}

/**
 * Tables ordered so every referenced table comes before the tables that
 * reference it (Kahn's algorithm over the union of both catalogs' foreign
 * keys); ties are broken by name so the order is stable. Self-references are
 * handled by row order inside the table, not here.
 */
export function tableOrder(tables: readonly string[], ...catalogs: Catalog[]): string[] {

    return tableLevels(tables, ...catalogs).flat();
}

/** The same order in levels: a table's parents are all in earlier levels, so one level's tables may load side by side. */
export function tableLevels(tables: readonly string[], ...catalogs: Catalog[]): string[][] {

    const selected = new Set(tables);
    const parents = new Map<string, Set<string>>(tables.map((name) => [name, new Set()]));
    for (const catalog of catalogs) {
        for (const name of tables) {
            for (const fk of catalog.get(name)?.foreignKeys ?? []) {
                if (fk.references !== name && selected.has(fk.references)) {
                    parents.get(name)!.add(fk.references);
                }
            }
        }
    }

    const levels: string[][] = [];
    const placed = new Set<string>();
    while (placed.size < parents.size) {
        const ready = [...parents.keys()]
            .filter((name) => !placed.has(name) && [...parents.get(name)!].every((parent) => placed.has(parent)))
            .sort();
        if (!ready.length) {
            const rest = [...parents.keys()].filter((name) => !placed.has(name)).sort();
            throw new ForeignKeyCycleError(`the foreign keys between ${rest.join(', ')} form a cycle; migrate them with the checks deferred by hand`);
        }

        for (const name of ready) {
            placed.add(name);
        }

        levels.push(ready);
    }

    return levels;
}

/** The foreign key of a table onto its own primary key (parent rows first), if any. */
export function selfReference(table: TableInfo): { column: string } | null {

    for (const fk of table.foreignKeys) {
        if (fk.references === table.name && fk.columns.length === 1 && table.primaryKey.length === 1 && fk.referencedColumns[0] === table.primaryKey[0]) {
            return { column: fk.columns[0]! };
        }
    }

    return null;
}

/** Source columns in a stable order (by name), with the target's kind of each. */
export function sharedColumns(source: TableInfo, target: TableInfo): { source: ColumnInfo[]; target: ColumnInfo[] } {

    const targetColumns = new Map(target.columns.map((column) => [column.name, column]));
    const names = source.columns.map((column) => column.name).filter((name) => targetColumns.has(name)).sort();
    const sourceColumns = new Map(source.columns.map((column) => [column.name, column]));
    return {
        source: names.map((name) => sourceColumns.get(name)!),
        target: names.map((name) => targetColumns.get(name)!)
    };
}
