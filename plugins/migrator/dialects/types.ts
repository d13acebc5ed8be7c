// What each dialect contributes to the migrator: catalog reading, the fast
// write path, and the objects set aside during a bulk load.

import type { Knex } from 'knex';

import type { PoolOverrides } from '../../../server/config';
import type { ParsedDatabaseUrl } from '../../../server/db/url';
import type { Checkpoint } from '../checkpoints';
import type { Catalog, ColumnInfo, ColumnKind, TableInfo } from '../types';

/** A trigger or index set aside for the bulk load and restored afterwards. */
export interface DeferredObject {
    name: string;
    table: string;
    /** Triggers come back before the search rebuild; indexes after it; foreign keys last. */
    phase: 'trigger' | 'index' | 'constraint';
    drop: string;
    restore: string;
}

/** The years a target's timestamp columns hold, and how a refusal names them. */
export interface YearRange {
    min: number;
    max: number;
    description: string;
}

export interface MigratorDialect {
    /** Why this database cannot be one end of a run (before anything is opened), or null. */
    locationProblem(location: ParsedDatabaseUrl, role: 'source' | 'target'): string | null;
    /** Whether two locations of this dialect name the same database. */
    sameDatabase(a: ParsedDatabaseUrl, b: ParsedDatabaseUrl): boolean;
    /** As a target of a dry run: why it cannot be compared with (a SQLite file not created yet), or null. */
    notCreatedYet(location: ParsedDatabaseUrl): string | null;
    /**
     * The database file as opened (device and inode; 'missing' once gone),
     * or null where there is no file: a SQLite target removed or replaced
     * mid-run is then noticed before any connection opens the path again.
     */
    fileIdentity(location: ParsedDatabaseUrl): string | null;
    /** As a target: whether text and JSON may hold NUL characters. */
    readonly storesNul: boolean;
    /** As a target: the years a timestamp column holds. */
    readonly years: YearRange;
    /** As a target: the copy's own conversion of one source value (throws ValueError on one its column cannot hold). */
    convertValue(kind: ColumnKind, column: string, raw: unknown): unknown;
    /** Pool settings for migrator connections (no statement timeout: index builds take long). */
    readonly poolOverrides: PoolOverrides;
    /** Application tables: no knex bookkeeping, no migrator checkpoints, no derived search storage. */
    readCatalog(knex: Knex): Promise<Catalog>;
    /** Secondary indexes, triggers and foreign keys of these tables that a bulk load is faster without. */
    deferrableObjects(knex: Knex, tables: readonly string[]): Promise<DeferredObject[]>;
    /**
     * Converts one batch of source rows (raw driver values) into what
     * writeBatch() sends, without touching the database, so the copy can
     * encode the next batch while the previous one is written. Throws on a
     * value its column cannot hold.
     */
    encodeBatch(table: string, columns: readonly ColumnInfo[], rows: ReadonlyArray<Record<string, unknown>>): EncodedBatch;
    /** A writer for one table's batches; the caller closes it, also after a failure. */
    openWriter(knex: Knex): BatchWriter;
    /** Empties tables, listed children first. */
    truncate(knex: Knex, tables: readonly string[]): Promise<void>;
    /** How many tables of one foreign-key level may load at once. */
    readonly copyConcurrency: number;
    /**
     * deferrableObjects() sets aside every foreign key of the loaded tables,
     * so their load order does not matter: all tables load as one level,
     * largest first, and a slow one overlaps the others.
     */
    readonly loadsWithoutForeignKeys: boolean;
    /**
     * Validation reads the target while indexes and search data are rebuilt:
     * through the pool ('pool'), or through a connection of its own where the
     * pool has a single writer connection ('own').
     */
    readonly validationConnection: 'pool' | 'own';
    /** How many restore statements (index builds) may run at once. */
    readonly restoreConcurrency: number;
    /** Runs one restore statement (an index build gets more working memory where the engine has the setting). */
    restore(knex: Knex, object: DeferredObject): Promise<void>;
    /** Sequences and planner statistics after a load. */
    afterLoad(knex: Knex, tables: readonly string[]): Promise<void>;
    /**
     * As a source: an SQL condition on `source` selecting the rows whose
     * value may not fit `target` (a column of the other dialect), or null
     * when every value fits. A superset is fine: the pre-flight checks each
     * selected value exactly. Runs inside the database, one scan per table.
     */
    suspectValues(knex: Knex, source: ColumnInfo, target: ColumnInfo): Knex.Raw | null;
    /**
     * As a source: the text values whose bytes are not valid UTF-8, as
     * bytes. The driver reads such text with U+FFFD in place of the bad
     * bytes, so the copy would change them silently (or PostgreSQL would
     * refuse them): the pre-flight finds them before that loss.
     */
    invalidText(knex: Knex, table: TableInfo, columns: readonly ColumnInfo[]): Promise<InvalidText[]>;
    /**
     * As a source: starts watching these tables for writes by anyone else;
     * changes() then names what changed since (empty when nothing did).
     */
    watchChanges(knex: Knex, tables: readonly string[]): Promise<ChangeWatch>;
}

/** A source text value that is not valid UTF-8. */
export interface InvalidText {
    key: Record<string, unknown>;
    column: string;
    bytes: Buffer;
}

/** Writes to the source seen since a watch started. */
export interface ChangeWatch {
    /** What changed (tables, or the whole file where the engine cannot tell); empty when nothing did. */
    changes(): Promise<string[]>;
    close(): Promise<void>;
}

/** Writes encoded batches, each with its checkpoint in one transaction, one at a time. */
export interface BatchWriter {
    write(batch: EncodedBatch, checkpoint: Checkpoint): Promise<void>;
    /** Releases what the writer holds (prepared statements). */
    close(): Promise<void>;
}

/** A batch as a dialect's encodeBatch() made it; only that dialect's writer reads it. */
export interface EncodedBatch {
    readonly rows: number;
}

export function quoteIdentifier(name: string): string {

    return `"${name.replace(/"/g, '""')}"`;
}
