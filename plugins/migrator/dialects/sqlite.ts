// SQLite side of the migrator: catalogs from sqlite_master and PRAGMAs,
// multi-row INSERTs in one transaction per batch, secondary indexes and
// user triggers set aside during the load (the FTS5 ones stay on).

import { isUtf8 } from 'node:buffer';
import Fs from 'node:fs';

import type { Knex } from 'knex';

import type { ParsedDatabaseUrl } from '../../../server/db/url';
import { MAINTENANCE_TABLE } from '../../../server/maintenance';
import { derivedSearchStorage, isDerivedSearchTable } from '../../../server/search/storage';
import type { Catalog, ColumnInfo, ColumnKind, TableInfo } from '../types';
import { checkpointUpsert, type Checkpoint } from '../checkpoints';
import { sqliteValue } from '../values';
import { quoteIdentifier, type BatchWriter, type ChangeWatch, type DeferredObject, type EncodedBatch, type InvalidText, type MigratorDialect } from './types';

// SQLite 3.32+ accepts 32766 bound variables per statement.
const MAX_VARIABLES = 32_000;

export function sqliteKind(declared: string): ColumnKind {

    const type = declared.toLowerCase();
    if (type.includes('json')) {
        return 'json';
    }

    if (type.includes('bool')) {
        return 'boolean';
    }

    if (type.includes('date') || type.includes('time')) {
        return 'timestamp';
    }

    // knex creates uuid columns as char(36) on SQLite.
    if (type === 'char(36)' || type.includes('uuid')) {
        return 'uuid';
    }

    if (type.includes('int')) {
        return 'integer';
    }

    if (/real|floa|doub|numeric|decimal/.test(type)) {
        return 'float';
    }

    return 'text';
}

async function readCatalog(knex: Knex): Promise<Catalog> {

    const tables: Array<{ name: string; sql: string }> = await knex.raw("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name");
    const virtual = tables.filter((row) => /^CREATE VIRTUAL TABLE/i.test(row.sql ?? '')).map((row) => row.name);
    const catalog: Catalog = new Map();
    for (const { name } of tables) {
        if (name.startsWith('sqlite_') || name.startsWith('knex_') || name.startsWith('migrator_') || name.startsWith('ops_') || name === MAINTENANCE_TABLE ||
            virtual.some((table) => name === table || name.startsWith(`${table}_`)) || isDerivedSearchTable('sqlite', name)) {
            continue;
        }

        const info: Array<{ name: string; type: string; notnull: number; dflt_value: unknown; pk: number }> =
            await knex.raw(`PRAGMA table_info(${quoteIdentifier(name)})`);
        const fks: Array<{ id: number; table: string; from: string; to: string | null }> =
            await knex.raw(`PRAGMA foreign_key_list(${quoteIdentifier(name)})`);

        const columns: ColumnInfo[] = info.map((column) => {

            const kind = sqliteKind(column.type);
            const length = /\((\d+)\)/.exec(column.type);
            return {
                name: column.name,
                kind,
                declared: column.type || 'any',
                maxLength: kind === 'text' && length ? Number(length[1]) : null,
                nullable: !column.notnull,
                hasDefault: column.dflt_value !== null
            };
        });

        const primaryKey = info.filter((column) => column.pk > 0).sort((a, b) => a.pk - b.pk).map((column) => column.name);
        const groups = new Map<number, typeof fks>();
        for (const fk of fks) {
            groups.set(fk.id, [...(groups.get(fk.id) ?? []), fk]);
        }

        catalog.set(name, {
            name,
            columns,
            primaryKey,
            foreignKeys: [...groups.values()].map((parts) => ({
                columns: parts.map((part) => part.from),
                references: parts[0]!.table,
                referencedColumns: parts.map((part) => part.to ?? '')
            }))
        });
    }

    // A foreign key written without columns refers to the parent's primary key.
    for (const table of catalog.values()) {
        for (const fk of table.foreignKeys) {
            if (fk.referencedColumns.some((column) => !column)) {
                fk.referencedColumns = catalog.get(fk.references)?.primaryKey ?? fk.referencedColumns;
            }
        }
    }

    return catalog;
}

async function deferrableObjects(knex: Knex, tables: readonly string[]): Promise<DeferredObject[]> {

    if (!tables.length) {
        return [];
    }

    const marks = tables.map(() => '?').join(', ');
    const rows: Array<{ type: string; name: string; tbl_name: string; sql: string }> = await knex.raw(`
        SELECT type, name, tbl_name, sql FROM sqlite_master
        WHERE type IN ('index', 'trigger') AND sql IS NOT NULL AND tbl_name IN (${marks})
        ORDER BY type, name`, tables);

    return rows
        // Unique indexes stay: they guard the load itself. The search
        // triggers stay too: they index each row as it lands.
        .filter((row) => row.type === 'trigger' ? !derivedSearchStorage.sqlite.rowTriggers.includes(row.name) : !/^CREATE\s+UNIQUE/i.test(row.sql))
        .map((row): DeferredObject => ({
            name: row.name,
            table: row.tbl_name,
            phase: row.type === 'trigger' ? 'trigger' : 'index',
            drop: `DROP ${row.type === 'trigger' ? 'TRIGGER' : 'INDEX'} ${quoteIdentifier(row.name)}`,
            restore: row.sql
        }));
}

function callback(resolve: () => void, reject: (error: Error) => void): (error: Error | null) => void {

    return (error) => (error ? reject(error) : resolve());
}

function exec(connection: any, sql: string): Promise<void> {

    return new Promise((resolve, reject) => connection.exec(sql, callback(resolve, reject)));
}

// Prepared statements kept per writer: every full batch of a table has the
// same INSERT text, and preparing one with tens of thousands of parameters
// costs the writer thread more than running it with new values.
const STATEMENTS_KEPT = 4;

/**
 * Writes a batch as BEGIN, one run per prepared statement, COMMIT: each
 * step is one trip to the driver's thread, so the writer waits less for the
 * main thread, which is busy reading and encoding the next batch.
 */
class SqliteBatchWriter implements BatchWriter {

    private connection: any = null;
    private readonly statements = new Map<string, any>();

    constructor(private readonly knex: Knex) {}

    async write(batch: EncodedBatch, checkpoint: Checkpoint): Promise<void> {

        const connection = await this.knex.client.acquireConnection();
        try {
            if (connection !== this.connection) {
                await this.close();
                this.connection = connection;
            }

            await exec(connection, 'BEGIN IMMEDIATE');
            try {
                for (const { sql, values } of (batch as SqliteBatch).statements) {
                    await this.run(sql, values);
                }

                // The same statement text for every batch, so it is prepared once.
                const upsert = checkpointUpsert(this.knex, checkpoint).toSQL();
                await this.run(upsert.sql, [...upsert.bindings]);
                await exec(connection, 'COMMIT');
            }
            catch (error) {
                await exec(connection, 'ROLLBACK').catch(() => {});
                throw error;
            }
        }
        finally {
            await this.knex.client.releaseConnection(connection);
        }
    }

    async close(): Promise<void> {

        const statements = [...this.statements.values()];
        this.statements.clear();
        this.connection = null;
        await Promise.all(statements.map((statement) => new Promise<void>((resolve) => statement.finalize(() => resolve()))));
    }

    private async run(sql: string, values: unknown[]): Promise<void> {

        let statement = this.statements.get(sql);
        if (statement) {
            // Most recently used last.
            this.statements.delete(sql);
        }
        else {
            statement = await new Promise((resolve, reject) => {

                const prepared = this.connection.prepare(sql, (error: Error | null) => (error ? reject(error) : resolve(prepared)));
            });
            if (this.statements.size >= STATEMENTS_KEPT) {
                const [oldest, stale] = this.statements.entries().next().value as [string, any];
                this.statements.delete(oldest);
                stale.finalize(() => {});
            }
        }

        this.statements.set(sql, statement);
        await new Promise<void>((resolve, reject) => statement.run(values, callback(resolve, reject)));
    }
}

interface SqliteBatch extends EncodedBatch {
    /** Multi-row INSERTs, each within SQLite's limit on bound values. */
    statements: Array<{ sql: string; values: unknown[] }>;
}

function encodeBatch(table: string, columns: readonly ColumnInfo[], rows: ReadonlyArray<Record<string, unknown>>): SqliteBatch {

    const head = `INSERT INTO ${quoteIdentifier(table)} (${columns.map((column) => quoteIdentifier(column.name)).join(', ')}) VALUES `;
    const tuple = `(${columns.map(() => '?').join(', ')})`;
    const perStatement = Math.max(1, Math.floor(MAX_VARIABLES / columns.length));
    const statements: SqliteBatch['statements'] = [];
    for (let start = 0; start < rows.length; start += perStatement) {
        const chunk = rows.slice(start, start + perStatement);
        const values: unknown[] = [];
        for (const row of chunk) {
            for (const column of columns) {
                values.push(sqliteValue(column.kind, column.name, row[column.name]));
            }
        }

        statements.push({ sql: head + chunk.map(() => tuple).join(', '), values });
    }

    return { rows: rows.length, statements };
}

async function truncate(knex: Knex, tables: readonly string[]): Promise<void> {

    await knex.transaction(async (trx) => {

        for (const table of tables) {
            await trx(table).delete();
        }
    });
}

async function afterLoad(knex: Knex, tables: readonly string[]): Promise<void> {

    if (tables.length) {
        await knex.raw('ANALYZE');
    }
}

const UUID_GLOB = '[0-9a-fA-F]'.repeat(8) + '-' + '[0-9a-fA-F]'.repeat(4) + '-' + '[0-9a-fA-F]'.repeat(4) + '-' + '[0-9a-fA-F]'.repeat(4) + '-' + '[0-9a-fA-F]'.repeat(12);
const ISO_GLOB = '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9].[0-9][0-9][0-9]Z';

/** Integer limits of PostgreSQL's integer types; a bigint must stay within a double's exact integers to be read exactly. */
const INTEGER_RANGE: Record<string, [number, number]> = {
    smallint: [-32768, 32767],
    integer: [-2147483648, 2147483647],
    bigint: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]
};

// SQLite's flexible typing lets any column hold any value; these select what
// PostgreSQL's column may refuse (NUL in text, lengths, ranges, shapes).
function suspectValues(knex: Knex, source: ColumnInfo, target: ColumnInfo): Knex.Raw | null {

    const column = knex.raw('??', [source.name]).toQuery();
    const conditions: string[] = [];
    switch (target.kind) {
        case 'text':
        case 'json':
        case 'uuid':
            conditions.push(`instr(${column}, char(0)) > 0`);
            break;
    }

    if (target.kind === 'text' && target.maxLength !== null) {
        conditions.push(`length(${column}) > ${target.maxLength}`);
    }

    switch (target.kind) {
        case 'json': conditions.push(`json_valid(${column}) = 0`, `instr(${column}, '\\u0000') > 0`); break;
        case 'uuid': conditions.push(`${column} NOT GLOB '${UUID_GLOB}'`); break;
        case 'boolean': conditions.push(`${column} NOT IN (0, 1)`); break;
        case 'float': conditions.push(`typeof(${column}) NOT IN ('real', 'integer')`); break;
        case 'timestamp': conditions.push(`typeof(${column}) <> 'text'`, `${column} NOT GLOB '${ISO_GLOB}'`, `substr(${column}, 1, 4) = '0000'`); break;
        case 'integer': {
            const [min, max] = INTEGER_RANGE[target.declared] ?? INTEGER_RANGE.bigint!;
            conditions.push(`typeof(${column}) <> 'integer'`, `${column} < ${min}`, `${column} > ${max}`);
            break;
        }
    }

    return conditions.length ? knex.raw(`${column} IS NOT NULL AND (${conditions.join(' OR ')})`) : null;
}

// Text that may not be UTF-8, as SQLite reads it: a lead byte followed by
// continuation bytes (octet_length and length differ: all valid non-ASCII
// text too); a lead byte without them, an overlong form or a surrogate
// (SQLite's decoder reads U+FFFD there); a continuation byte without a lead
// (read as U+0080-U+00BF). Together every invalid sequence; LIKE with a
// literal and a GLOB range are far cheaper than a GLOB over "not ASCII".
function mayBeInvalidUtf8(column: string): string {

    return `typeof(${column}) = 'text' AND (octet_length(${column}) <> length(${column}) OR ${column} LIKE '%\ufffd%' OR ${column} GLOB '*[\u0080-\u00bf]*')`;
}

/**
 * Text and JSON values that may not be UTF-8 are read as bytes (only
 * those: most text is ASCII, and the scan runs inside SQLite) and checked
 * exactly here; SQLite has no function that validates UTF-8.
 */
async function invalidText(knex: Knex, table: TableInfo, columns: readonly ColumnInfo[]): Promise<InvalidText[]> {

    const texts = columns.filter((column) => column.kind === 'text' || column.kind === 'json');
    if (!texts.length || !table.primaryKey.length) {
        return [];
    }

    const quoted = texts.map((column) => knex.raw('??', [column.name]).toQuery());
    const bytes = texts.map((column, i) => knex.raw(`CASE WHEN ${mayBeInvalidUtf8(quoted[i]!)} THEN CAST(${quoted[i]} AS BLOB) END AS ??`, [`b${i}`]));
    const rows: Array<Record<string, unknown>> = await knex(table.name)
        .select([...table.primaryKey, ...bytes])
        .where((query) => {

            for (const column of quoted) {
                query.orWhere(knex.raw(mayBeInvalidUtf8(column)));
            }
        })
        .orderBy(table.primaryKey);
    const found: InvalidText[] = [];
    for (const row of rows) {
        texts.forEach((column, i) => {

            const value = row[`b${i}`];
            if (Buffer.isBuffer(value) && !isUtf8(value)) {
                found.push({ key: Object.fromEntries(table.primaryKey.map((name) => [name, row[name]])), column: column.name, bytes: value });
            }
        });
    }

    return found;
}

/**
 * PRAGMA data_version on a connection of its own changes whenever another
 * connection commits to the file (WAL included): exact, and costs nothing.
 * SQLite cannot say which table changed.
 */
async function watchChanges(knex: Knex): Promise<ChangeWatch> {

    const client = knex.client as { acquireRawConnection(): Promise<any>; destroyRawConnection(connection: unknown): Promise<void> };
    const connection = await client.acquireRawConnection();
    const version = () => new Promise<number>((resolve, reject) => connection.get('PRAGMA data_version', (error: Error | null, row: { data_version: number }) => (error ? reject(error) : resolve(row.data_version))));
    const start = await version();
    return {
        changes: async () => (await version() === start ? [] : ['the database file (SQLite does not say which table)']),
        close: () => client.destroyRawConnection(connection)
    };
}

function filename(location: ParsedDatabaseUrl): string {

    return location.type === 'sqlite' ? location.filename : '';
}

function locationProblem(location: ParsedDatabaseUrl, role: 'source' | 'target'): string | null {

    const file = filename(location);
    if (file === ':memory:') {
        return 'an in-memory SQLite database cannot be migrated from or to';
    }

    const stat = Fs.statSync(file, { throwIfNoEntry: false });
    if (role === 'source' && !stat) {
        return `the source SQLite file ${file} does not exist`;
    }

    return stat?.isDirectory() ? `the ${role} ${file} is a directory, not a SQLite file` : null;
}

function fileIdentity(location: ParsedDatabaseUrl): string {

    const stat = Fs.statSync(filename(location), { throwIfNoEntry: false });
    return stat ? `${stat.dev}:${stat.ino}` : 'missing';
}

export const sqliteMigrator: MigratorDialect = {
    locationProblem,
    sameDatabase: (a, b) => a.type === b.type && filename(a) === filename(b),
    notCreatedYet: (location) => (Fs.existsSync(filename(location)) ? null : filename(location)),
    fileIdentity,
    storesNul: true,
    // The ISO-8601 text form has four-digit years.
    years: { min: 1, max: 9999, description: '1 to 9999 the SQLite form' },
    convertValue: sqliteValue,
    // Keyset scans and batched inserts read each page once: a small page
    // cache keeps the process's memory flat whatever the database size.
    poolOverrides: { sqliteCacheMb: 8 },
    // One connection, one writer.
    copyConcurrency: 1,
    loadsWithoutForeignKeys: false,
    restoreConcurrency: 1,
    // WAL lets a second connection read the committed rows while the writer
    // rebuilds search data and indexes (which validation does not checksum).
    validationConnection: 'own',
    async restore(knex: Knex, object: DeferredObject) {

        await knex.raw(object.restore);
    },
    readCatalog,
    deferrableObjects,
    encodeBatch,
    openWriter: (knex: Knex) => new SqliteBatchWriter(knex),
    truncate,
    afterLoad,
    suspectValues,
    invalidText,
    watchChanges
};
