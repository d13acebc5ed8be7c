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

// neo-alexandria_[<db>_]<yyyymmddThhmmssZ>[_<unique>].<ext>. <db> is restricted
// to a safe alphabet so a name can never contain a path separator or "..",
// and left out when it only repeats the prefix (the default SQLite file is
// neo-alexandria.db). <unique> (8 hex digits) keeps names apart when two
// instances write backups in the same second; names without it (older
// backups, the cron script) are still accepted.
const NAME = /^neo-alexandria_(?:([A-Za-z0-9_-]{1,63})_)?(\d{8}T\d{6}Z)(?:_([0-9a-f]{8}))?\.(dump|sql|sql\.gz|sqlite3)$/;

export interface ParsedBackupName {
    name: string;
    /** The database part of the name; '' when the name leaves it out. */
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

/** The database part a new name carries: '' when the label would only repeat the prefix. */
export function nameLabel(database: string): string {

    const label = safeDatabaseLabel(database);
    return label.toLowerCase().replace(/_/g, '-') === NAME_PREFIX ? '' : label;
}

/** A new backup name; `unique` (8 hex digits) tells apart names written in the same second. */
export function backupName(database: string, date: Date, format: BackupFormat, unique?: string): string {

    if (unique !== undefined && !/^[0-9a-f]{8}$/.test(unique)) {
        throw new TypeError('unique must be 8 lowercase hex digits');
    }

    const label = nameLabel(database);
    return `${NAME_PREFIX}_${label ? `${label}_` : ''}${formatTimestamp(date)}${unique ? `_${unique}` : ''}.${EXTENSIONS[format]}`;
}

export function parseBackupName(name: string): ParsedBackupName | null {

    const match = NAME.exec(name);
    if (!match) {
        return null;
    }

    const [, database = '', stamp, , ext] = match as unknown as [string, string | undefined, string, string | undefined, string];
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
