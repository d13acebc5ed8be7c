// Reading a table in key order, a page at a time (keyset pagination, never
// OFFSET), and the content checksum of a whole table. Only a knex instance is
// needed: the copy, validation and the row comparison all read through it.

import type { Knex } from 'knex';

import { TableChecksum } from './checksum';
import { selfReference } from './schema-check';
import type { ColumnInfo, TableInfo } from './types';

const DEPTH = 'migrator_depth';

/** One page of rows after a cursor, in key order (parents first for a self-referencing table). */
export function readPage(knex: Knex, table: TableInfo, columns: readonly ColumnInfo[], after: unknown[] | null, limit: number, parentsFirst: boolean): Promise<Array<Record<string, unknown>>> {

    const key = table.primaryKey;
    const self = parentsFirst ? selfReference(table) : null;
    if (self) {
        // Depth from the roots by a recursive walk; the cursor is (depth, key).
        const pk = key[0]!;
        const select = columns.map((column) => `t.${knex.raw('??', [column.name]).toQuery()}`).join(', ');
        const sql = `
            WITH RECURSIVE tree (node, depth) AS (
                SELECT ??, 0 FROM ?? WHERE ?? IS NULL OR ?? = ??
                UNION ALL
                SELECT c.??, tree.depth + 1 FROM ?? c JOIN tree ON c.?? = tree.node WHERE c.?? <> c.??
            )
            SELECT ${select}, tree.depth AS ${DEPTH} FROM tree JOIN ?? t ON t.?? = tree.node
            ${after ? 'WHERE (tree.depth, t.??) > (?, ?)' : ''}
            ORDER BY tree.depth, t.?? LIMIT ?`;
        const bindings = [
            pk, table.name, self.column, self.column, pk,
            pk, table.name, self.column, self.column, pk,
            table.name, pk,
            ...(after ? [pk, after[0], after[1]] : []),
            pk, limit
        ];
        return knex.raw(sql, bindings as any[]).then((result: any) => (Array.isArray(result) ? result : result.rows));
    }

    let query = knex(table.name).select(columns.map((column) => column.name)).orderBy(key.map((column) => ({ column }))).limit(limit);
    if (after) {
        query = key.length === 1 ?
            query.where(key[0]!, '>', after[0] as any) :
            query.whereRaw(`(${key.map(() => '??').join(', ')}) > (${key.map(() => '?').join(', ')})`, [...key, ...after] as any[]);
    }

    return query;
}

export function cursorOf(table: TableInfo, row: Record<string, unknown>, parentsFirst: boolean): unknown[] {

    const values = table.primaryKey.map((column) => row[column] instanceof Date ? (row[column] as Date).toISOString() : row[column]);
    return parentsFirst && selfReference(table) ? [Number(row[DEPTH]), ...values] : values;
}

/** The content checksum of a table's rows (those `include` accepts, when given). */
export async function tableChecksum(knex: Knex, table: TableInfo, columns: readonly ColumnInfo[], pageSize: number, include?: (row: Record<string, unknown>) => boolean): Promise<string> {

    const checksum = new TableChecksum();
    let pending = readPage(knex, table, columns, null, pageSize, false);
    for (;;) {
        const rows = await pending;
        const full = rows.length === pageSize;
        if (full) {
            // The database reads the next page while this one is hashed.
            pending = readPage(knex, table, columns, cursorOf(table, rows[rows.length - 1]!, false), pageSize, false);
            pending.catch(() => {});
        }

        for (const row of rows) {
            if (!include || include(row)) {
                checksum.add(columns, row);
            }
        }

        if (!full) {
            return checksum.toString();
        }
    }
}
