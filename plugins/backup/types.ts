// Contracts between the backup engine and its two drivers (PostgreSQL via
// the client tools, SQLite via an online copy of the live file).

import type { BackupManifest } from './manifest';
import type { BackupFormat } from './names';

export interface BackupProgress {
    /** What the operation is doing now, for the console and the logs. */
    phase: string;
    done?: number;
    total?: number;
}

export interface OperationOptions {
    signal?: AbortSignal;
    onProgress?: (progress: BackupProgress) => void;
}

export interface DumpResult {
    serverVersion: string;
    toolVersion: string | null;
    tables: Record<string, number>;
}

export interface RestoreOptions {
    /** Restore only these tables (their rows become those of the backup). */
    tables?: readonly string[];
    /** A different database to restore into (full restores only; engine API, not a route). */
    into?: string;
}

export interface RestoreReport {
    mode: 'full' | 'partial';
    tables: Record<string, number>;
}

export interface BackupDriver {
    readonly dialect: 'postgres' | 'sqlite';
    /** The database label used in backup names. */
    readonly database: string;
    /** What an operator types to confirm a restore. */
    readonly confirmationName: string;
    readonly formats: readonly BackupFormat[];
    readonly defaultFormat: BackupFormat;
    /** Writes a complete backup to `path` (a temporary name the engine renames). */
    dump(path: string, format: BackupFormat, options: OperationOptions): Promise<DumpResult>;
    /** Restores into a scratch database/file, returns its per-table row counts, drops the scratch. */
    scratchCounts(path: string, format: BackupFormat, options: OperationOptions): Promise<Record<string, number>>;
    restore(path: string, manifest: BackupManifest, options: RestoreOptions & OperationOptions): Promise<RestoreReport>;
}
