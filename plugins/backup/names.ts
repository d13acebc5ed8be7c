// Backup file names: generated here, parsed here, and never taken from a
// user as a path. A name is accepted only when it matches the pattern and is
// one of the files list() returns.

export type BackupFormat = 'custom' | 'plain' | 'plain-gzip' | 'sqlite';

export const NAME_PREFIX = 'neo-alexandria';

export const EXTENSIONS: Record<BackupFormat, string> = {
    custom: 'dump',
    plain: 'sql',
    'plain-gzip': 'sql.gz',
    sqlite: 'sqlite3'
};

// neo-alexandria_<db>_<yyyymmddThhmmssZ>.<ext>; <db> is restricted to a safe
// alphabet so a name can never contain a path separator or "..".
const NAME = /^neo-alexandria_([A-Za-z0-9_-]{1,63})_(\d{8}T\d{6}Z)\.(dump|sql|sql\.gz|sqlite3)$/;

export interface ParsedBackupName {
    name: string;
    database: string;
    createdAt: Date;
    format: BackupFormat;
}

/** The database part of a name: anything outside [A-Za-z0-9_-] becomes "-". */
export function safeDatabaseLabel(database: string): string {

    const label = database.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 63);
    return label || 'db';
}

export function formatTimestamp(date: Date): string {

    return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

export function backupName(database: string, date: Date, format: BackupFormat): string {

    return `${NAME_PREFIX}_${safeDatabaseLabel(database)}_${formatTimestamp(date)}.${EXTENSIONS[format]}`;
}

export function parseBackupName(name: string): ParsedBackupName | null {

    const match = NAME.exec(name);
    if (!match) {
        return null;
    }

    const [, database, stamp, ext] = match as unknown as [string, string, string, string];
    const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`;
    const createdAt = new Date(iso);
    if (Number.isNaN(createdAt.getTime()) || formatTimestamp(createdAt) !== stamp) {
        return null;
    }

    const format = (Object.keys(EXTENSIONS) as BackupFormat[]).find((key) => EXTENSIONS[key] === ext)!;
    return { name, database, createdAt, format };
}

/** The sidecar manifest of a backup file. */
export function manifestName(name: string): string {

    return `${name}.json`;
}

/** Where a backup is written until it is complete (hidden, never listed). */
export function partialName(name: string): string {

    return `.${name}.partial`;
}
