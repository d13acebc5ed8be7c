// Contracts of the data migrator: catalogs, options, progress events and the report.

import type { DatabaseEngine } from '../../server/db/types';
import type { DatabaseType } from '../../server/db/url';
import type { MigratorDialect } from './dialects/types';

/** How a column's values are interpreted, independent of the dialect's type name. */
export type ColumnKind = 'text' | 'uuid' | 'integer' | 'float' | 'boolean' | 'timestamp' | 'json';

export interface ColumnInfo {
    name: string;
    kind: ColumnKind;
    /** The type as the catalog names it (for messages). */
    declared: string;
    /** Declared maximum length of a character column, when there is one. */
    maxLength: number | null;
    nullable: boolean;
    hasDefault: boolean;
}

export interface ForeignKeyInfo {
    columns: string[];
    references: string;
    referencedColumns: string[];
}

export interface TableInfo {
    name: string;
    columns: ColumnInfo[];
    primaryKey: string[];
    foreignKeys: ForeignKeyInfo[];
}

export type Catalog = Map<string, TableInfo>;

/** One database of a run: its engine, its dialect's migrator part and its catalog. */
export interface Side {
    engine: DatabaseEngine;
    dialect: MigratorDialect;
    catalog: Catalog;
}

/** What to do with source values the target cannot hold. */
export type OnInvalid = 'fail' | 'reject';

/** A source value the target cannot hold, found by the pre-flight scan. */
export interface InvalidValue {
    table: string;
    /** The row's primary key values. */
    key: Record<string, unknown>;
    column: string;
    reason: string;
    /** What the operator can do about it. */
    hint: string;
}

export interface MigrateOptions {
    source: string;
    target: string;
    /** Rows per batch (keyset page and write transaction). */
    batchSize?: number;
    /** Compare content checksums as well as row counts after the copy. */
    validate?: boolean;
    /** On a checksum mismatch, name the first differing keys. */
    verifyRows?: boolean;
    dryRun?: boolean;
    /** Continue from the checkpoints stored in the target. */
    resume?: boolean;
    /** Empty the target tables first. */
    truncate?: boolean;
    /** Only these tables (default: every application table of the source). */
    tables?: string[];
    /** Run pending knex migrations on the target first (default true). */
    migrate?: boolean;
    /** Relative SQLite paths resolve against this directory. */
    baseDir?: string;
    /**
     * Make the source library read-only (maintenance mode, in the source
     * database) for the run, and fail when the source changes anyway.
     */
    maintenance?: boolean;
    /** Source values the target cannot hold: stop before writing (fail, the default) or set their rows aside (reject). */
    onInvalid?: OnInvalid;
    /** With onInvalid 'reject': the JSON-lines file each set-aside row is written to, whole, with its reasons. */
    rejectFile?: string;
    onProgress?: (event: ProgressEvent) => void;
    signal?: AbortSignal;
}

export type ProgressEvent =
    | { type: 'phase'; phase: string; message: string }
    | { type: 'plan'; tables: Array<{ table: string; rows: number; done: number }> }
    | { type: 'table-start'; table: string; rows: number; done: number }
    | { type: 'batch'; table: string; batch: number; rows: number; done: number; total: number }
    | { type: 'table-done'; table: string; report: TableReport }
    | { type: 'table-error'; table: string; batch: number | null; message: string };

export interface TableError {
    table: string;
    /** 1-based batch number, or null when the table failed outside a batch. */
    batch: number | null;
    message: string;
}

export interface TableReport {
    table: string;
    sourceRows: number;
    targetRows: number | null;
    copiedRows: number;
    /** true / false when checksums were compared, null when not. */
    checksumMatch: boolean | null;
    sourceChecksum: string | null;
    targetChecksum: string | null;
    durationMs: number;
    rowsPerSecond: number;
    status: 'ok' | 'failed' | 'mismatch' | 'dry-run' | 'skipped';
    errors: TableError[];
    /** Source rows set aside by the pre-flight (onInvalid 'reject'); the target holds sourceRows − rejectedRows. */
    rejectedRows: number;
    /** With verifyRows: keys of the first rows that differ (JSON of the key values). */
    differingKeys?: string[];
}

export interface SchemaIssue {
    table: string;
    column?: string;
    message: string;
}

export interface MigrationReport {
    source: string;
    target: string;
    sourceType: DatabaseType;
    targetType: DatabaseType;
    dryRun: boolean;
    resumed: boolean;
    validated: boolean;
    startedAt: string;
    finishedAt: string;
    durationMs: number;
    totalRows: number;
    rowsPerSecond: number;
    appliedMigrations: string[];
    pendingMigrations: string[];
    schemaIssues: SchemaIssue[];
    /** The run turned maintenance mode on in the source, and it is still on. */
    maintenance: boolean;
    /** What was written to the source during the copy (tables, or the file), null when nothing was. */
    sourceChanged: string[] | null;
    /** Source values the target cannot hold (the first 1,000), found before any row moved. */
    invalidValues: InvalidValue[];
    /** Rows set aside with onInvalid 'reject' (rows with invalid values and the rows that reference them). */
    rejectedRows: number;
    /** Where the set-aside rows were written, when there were any. */
    rejectFile: string | null;
    warnings: string[];
    tables: TableReport[];
    /** Milliseconds spent per phase (migrate, prepare, copy, search, finish, validate; search and validate overlap the others). */
    phases: Record<string, number>;
    /** Peak resident memory of this process so far, in MB. */
    peakRssMb: number;
    ok: boolean;
    /** A failure that stopped the whole run (for example an unreachable database). */
    fatal: string | null;
}
