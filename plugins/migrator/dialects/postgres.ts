// PostgreSQL side of the migrator: catalogs from pg_catalog, COPY FROM STDIN
// for the load, indexes dropped and triggers disabled during it.

import type { Knex } from 'knex';
import { from as copyFrom } from 'pg-copy-streams';

import type { ParsedDatabaseUrl } from '../../../server/db/url';
import { MAINTENANCE_TABLE } from '../../../server/maintenance';
import { derivedSearchStorage } from '../../../server/search/storage';
import type { Catalog, ColumnInfo, ColumnKind, TableInfo } from '../types';
import { saveCheckpoint } from '../checkpoints';
import { copyField } from '../values';
import { quoteIdentifier, type BatchWriter, type ChangeWatch, type DeferredObject, type EncodedBatch, type MigratorDialect } from './types';

const KINDS: Record<string, ColumnKind> = {
    'jsonb': 'json',
    'json': 'json',
    'boolean': 'boolean',
    'timestamp with time zone': 'timestamp',
    'timestamp without time zone': 'timestamp',
    'date': 'timestamp',
    'uuid': 'uuid',
    'integer': 'integer',
    'bigint': 'integer',
    'smallint': 'integer',
    'double precision': 'float',
    'real': 'float',
    'numeric': 'float'
};

function connectionString(location: ParsedDatabaseUrl): string {

    return location.type === 'postgres' ? location.connectionString : '';
}

// Bookkeeping of knex and the migrator, and the per-database maintenance switch.
function isMigratorTable(name: string): boolean {

    // ops_*: this server's own bookkeeping (jobs); the maintenance switch is never copied.
    return name.startsWith('knex_') || name.startsWith('migrator_') || name.startsWith('ops_') || name === MAINTENANCE_TABLE;
}

async function readCatalog(knex: Knex): Promise<Catalog> {

    const derived = derivedSearchStorage.postgres;
    const { rows: columns } = await knex.raw(`
        SELECT c.table_name, c.column_name, c.data_type, c.character_maximum_length, c.is_nullable, c.column_default
        FROM information_schema.columns c
        JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
        ORDER BY c.table_name, c.ordinal_position`);
    const { rows: keys } = await knex.raw(`
        SELECT cl.relname AS table_name, a.attname::text AS column_name
        FROM pg_index i
        JOIN pg_class cl ON cl.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = cl.relnamespace
        JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) ON true
        JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum = k.attnum
        WHERE i.indisprimary AND n.nspname = current_schema()
        ORDER BY cl.relname, k.ord`);
    const { rows: fks } = await knex.raw(`
        SELECT cl.relname AS table_name, ref.relname AS ref_table,
            (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS columns,
            (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS ref_columns
        FROM pg_constraint con
        JOIN pg_class cl ON cl.oid = con.conrelid
        JOIN pg_class ref ON ref.oid = con.confrelid
        JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE con.contype = 'f' AND n.nspname = current_schema()
        ORDER BY cl.relname, con.conname`);

    const catalog: Catalog = new Map();
    const table = (name: string): TableInfo => {

        let info = catalog.get(name);
        if (!info) {
            info = { name, columns: [], primaryKey: [], foreignKeys: [] };
            catalog.set(name, info);
        }

        return info;
    };

    for (const row of columns) {
        if (isMigratorTable(row.table_name) || derived.tables.includes(row.table_name)) {
            continue;
        }

        if (derived.columns.some((entry) => entry.table === row.table_name && entry.column === row.column_name)) {
            continue;
        }

        table(row.table_name).columns.push({
            name: row.column_name,
            kind: KINDS[row.data_type] ?? 'text',
            declared: row.data_type,
            maxLength: row.character_maximum_length === null ? null : Number(row.character_maximum_length),
            nullable: row.is_nullable === 'YES',
            hasDefault: row.column_default !== null
        });
    }

    for (const row of keys) {
        catalog.get(row.table_name)?.primaryKey.push(row.column_name);
    }

    for (const row of fks) {
        catalog.get(row.table_name)?.foreignKeys.push({ columns: row.columns, references: row.ref_table, referencedColumns: row.ref_columns });
    }

    return catalog;
}

async function deferrableObjects(knex: Knex, tables: readonly string[]): Promise<DeferredObject[]> {

    // Plain secondary indexes only: primary keys and unique constraints stay,
    // they guard the load itself.
    const { rows: indexes } = await knex.raw(`
        SELECT ic.relname AS name, cl.relname AS table_name, pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_class cl ON cl.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE n.nspname = current_schema() AND cl.relname = ANY(?)
          AND NOT i.indisprimary AND NOT i.indisunique
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY ic.relname`, [[...tables]]);
    // User triggers: the copy keeps the source's values exactly, and derived
    // search tables are rebuilt once at the end. The row triggers that only
    // fill derived columns (search_vector) stay on: the column is computed as
    // rows arrive, in the database, beside the load.
    const { rows: triggers } = await knex.raw(`
        SELECT t.tgname AS name, cl.relname AS table_name
        FROM pg_trigger t
        JOIN pg_class cl ON cl.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE n.nspname = current_schema() AND cl.relname = ANY(?) AND NOT t.tgisinternal AND t.tgenabled <> 'D'
          AND NOT t.tgname = ANY(?)
        ORDER BY t.tgname`, [[...tables], [...derivedSearchStorage.postgres.rowTriggers]]);

    // Foreign keys: checked row by row during a COPY, but in one join when
    // added back after the load. The load still goes parents first.
    const { rows: foreignKeys } = await knex.raw(`
        SELECT con.conname AS name, cl.relname AS table_name, pg_get_constraintdef(con.oid) AS definition
        FROM pg_constraint con
        JOIN pg_class cl ON cl.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE con.contype = 'f' AND n.nspname = current_schema() AND cl.relname = ANY(?)
        ORDER BY cl.relname, con.conname`, [[...tables]]);

    return [
        ...foreignKeys.map((row: { name: string; table_name: string; definition: string }): DeferredObject => ({
            name: row.name,
            table: row.table_name,
            phase: 'constraint',
            drop: `ALTER TABLE ${quoteIdentifier(row.table_name)} DROP CONSTRAINT ${quoteIdentifier(row.name)}`,
            restore: `ALTER TABLE ${quoteIdentifier(row.table_name)} ADD CONSTRAINT ${quoteIdentifier(row.name)} ${row.definition}`
        })),
        ...triggers.map((row: { name: string; table_name: string }): DeferredObject => ({
            name: row.name,
            table: row.table_name,
            phase: 'trigger',
            drop: `ALTER TABLE ${quoteIdentifier(row.table_name)} DISABLE TRIGGER ${quoteIdentifier(row.name)}`,
            restore: `ALTER TABLE ${quoteIdentifier(row.table_name)} ENABLE TRIGGER ${quoteIdentifier(row.name)}`
        })),
        ...indexes.map((row: { name: string; table_name: string; definition: string }): DeferredObject => ({
            name: row.name,
            table: row.table_name,
            phase: 'index',
            drop: `DROP INDEX ${quoteIdentifier(row.name)}`,
            restore: row.definition
        }))
    ];
}

interface PostgresBatch extends EncodedBatch {
    sql: string;
    /** The rows in COPY's text format. */
    data: Buffer;
}

function encodeBatch(table: string, columns: readonly ColumnInfo[], rows: ReadonlyArray<Record<string, unknown>>): PostgresBatch {

    let text = '';
    for (const row of rows) {
        let line = '';
        for (let i = 0; i < columns.length; ++i) {
            const column = columns[i]!;
            line += (i ? '\t' : '') + copyField(column.kind, column.name, row[column.name]);
        }

        text += line + '\n';
    }

    return {
        rows: rows.length,
        sql: `COPY ${quoteIdentifier(table)} (${columns.map((column) => quoteIdentifier(column.name)).join(', ')}) FROM STDIN`,
        data: Buffer.from(text, 'utf8')
    };
}

async function copyBatch(trx: Knex.Transaction, batch: PostgresBatch): Promise<void> {

    // Losing the last commits to a server crash is harmless here: the
    // checkpoint commits in the same transaction, so a resume redoes them.
    await trx.raw('SET LOCAL synchronous_commit = off');
    const connection = await trx.client.acquireConnection();
    await new Promise<void>((resolve, reject) => {

        const stream = connection.query(copyFrom(batch.sql));
        stream.on('error', reject);
        stream.on('finish', resolve);
        stream.end(batch.data);
    });
}

function openWriter(knex: Knex): BatchWriter {

    return {
        async write(batch, checkpoint) {

            await knex.transaction(async (trx) => {

                await copyBatch(trx, batch as PostgresBatch);
                await saveCheckpoint(trx, checkpoint);
            });
        },
        async close() {}
    };
}

async function truncate(knex: Knex, tables: readonly string[]): Promise<void> {

    // No CASCADE: a table outside the selection that references these must
    // stop the run rather than be emptied silently.
    if (tables.length) {
        await knex.raw(`TRUNCATE ${tables.map(quoteIdentifier).join(', ')}`);
    }
}

async function afterLoad(knex: Knex, tables: readonly string[]): Promise<void> {

    const { rows } = await knex.raw(`
        SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) AS sequence
        FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = ANY(?) AND column_default LIKE 'nextval(%'`, [[...tables]]);
    for (const row of rows) {
        if (row.sequence) {
            const column = quoteIdentifier(row.column_name);
            await knex.raw(`SELECT setval(?, COALESCE(MAX(${column}), 1), MAX(${column}) IS NOT NULL) FROM ${quoteIdentifier(row.table_name)}`, [row.sequence]);
        }
    }

    // Fresh statistics, so the first queries after the switch get good plans.
    if (tables.length) {
        await knex.raw(`ANALYZE ${tables.map(quoteIdentifier).join(', ')}`);
    }
}

async function restore(knex: Knex, object: DeferredObject): Promise<void> {

    if (object.phase !== 'index') {
        await knex.raw(object.restore);
        return;
    }

    // Index builds sort in memory when they can; the setting lasts for this transaction only.
    await knex.transaction(async (trx) => {

        await trx.raw("SET LOCAL maintenance_work_mem = '128MB'");
        await trx.raw(object.restore);
    });
}

// SQLite holds any text and number PostgreSQL does; what it cannot hold in
// the application's form: instants outside years 1–9999 (and infinity), and
// 64-bit integers beyond a double's exact range (the driver reads doubles).
function suspectValues(knex: Knex, source: ColumnInfo): Knex.Raw | null {

    const column = knex.raw('??', [source.name]).toQuery();
    if (source.kind === 'timestamp') {
        return knex.raw(`${column} IS NOT NULL AND (NOT isfinite(${column}) OR ${column} < '0001-01-01T00:00:00Z' OR ${column} >= '10000-01-01T00:00:00Z')`);
    }

    if (source.declared === 'bigint') {
        return knex.raw(`abs(${column}) > ${Number.MAX_SAFE_INTEGER}`);
    }

    return null;
}

/**
 * Every row inserted or updated after the watch started carries a newer
 * transaction id (xmin) than the snapshot's first unassigned one; a delete
 * changes the row count. One scan of each table, at the end only.
 */
async function watchChanges(knex: Knex, tables: readonly string[]): Promise<ChangeWatch> {

    const { rows: [{ xid }] } = await knex.raw('SELECT (pg_snapshot_xmax(pg_current_snapshot())::text::numeric % 4294967296)::text AS xid');
    const counts = new Map<string, number>();
    for (const table of tables) {
        counts.set(table, Number((await knex(table).count({ n: '*' }))[0]!.n));
    }

    return {
        async changes() {

            const changed: string[] = [];
            for (const table of tables) {
                const { rows: [row] } = await knex.raw(`SELECT count(*) AS n, count(*) FILTER (WHERE age(xmin) <= age(?::xid)) AS written FROM ${quoteIdentifier(table)}`, [xid]);
                if (Number(row.written) > 0 || Number(row.n) !== counts.get(table)) {
                    changed.push(table);
                }
            }

            return changed;
        },
        async close() {}
    };
}

export const postgresMigrator: MigratorDialect = {
    locationProblem: () => null,
    sameDatabase: (a, b) => a.type === b.type && new URL(connectionString(a)).toString() === new URL(connectionString(b)).toString(),
    notCreatedYet: () => null,
    fileIdentity: () => null,
    // text and jsonb refuse \u0000.
    storesNul: false,
    years: { min: -4713, max: 294276, description: '4713 BC to 294276 AD PostgreSQL' },
    convertValue: copyField,
    // At most four connections work at once (two loads, or two index builds
    // beside the search rebuild and validation), so nothing waits for one;
    // the default acquire timeout keeps an unreachable server a quick error.
    // JSON is read as the text PostgreSQL wrote (values.ts parses it losslessly).
    poolOverrides: { min: 0, max: 6, statementTimeoutMs: 0, applicationName: 'neo-alexandria-migrator', jsonAsText: true },
    // Separate connections work on separate cores: two tables of a level
    // (annotations and citations) load side by side, two indexes build at once.
    copyConcurrency: 2,
    // Every foreign key is set aside during the load (deferrableObjects).
    loadsWithoutForeignKeys: true,
    restoreConcurrency: 2,
    // Reads do not wait for index builds; the rebuilt search data is not checksummed.
    validationConnection: 'pool',
    restore,
    readCatalog,
    deferrableObjects,
    encodeBatch,
    openWriter,
    truncate,
    afterLoad,
    suspectValues,
    // A UTF8 database refuses invalid text on the way in.
    invalidText: async () => [],
    watchChanges
};
