// Helpers for the backup tests: engines over a test database, temporary
// backup directories, per-table checksums and stand-in client tools.

import { createHash, randomBytes } from 'node:crypto';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import type { Knex } from 'knex';

import { createBackupEngine, type BackupEngine, type BackupEngineOptions } from '../../plugins/backup/engine';
import { parseDatabaseUrl } from '../../server/db/url';
import { applicationTables } from './database';
import type { DatabaseType } from '../../server/db/url';

/** The real client tools first, then the system PATH. */
export const PG_TOOL_PATH = '/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin';

export const RETENTION = { keepLast: 3, daily: 7, weekly: 4, monthly: 6, maxAgeDays: 0 };

export function tempBackupDir(): string {

    return Fs.mkdtempSync(Path.join(Os.tmpdir(), 'na-backups-'));
}

export function backupEngine(url: string, backupDir: string, overrides: Partial<BackupEngineOptions> = {}): BackupEngine {

    return createBackupEngine({
        database: parseDatabaseUrl(url),
        backupDir,
        retention: RETENTION,
        toolPath: PG_TOOL_PATH,
        jobs: 2,
        sqliteBusyTimeoutMs: 30_000,
        ...overrides
    });
}

/** Every file in a directory, hidden ones included (partial files start with a dot). */
export function filesIn(dir: string): string[] {

    return Fs.existsSync(dir) ? Fs.readdirSync(dir).sort() : [];
}

/** A checksum of each application table's rows, independent of row order. */
export async function tableChecksums(knex: Knex, type: DatabaseType): Promise<Record<string, string>> {

    const sums: Record<string, string> = {};
    for (const table of await applicationTables(knex, type)) {
        const rows: object[] = await knex(table).select('*');
        const lines = rows.map((row) => JSON.stringify(row, Object.keys(row).sort())).sort();
        sums[table] = `${rows.length}:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
    }

    return sums;
}

/** A new directory under `parent` holding one executable shell script named `tool`, to stand in for a client tool. */
export function fakeTool(parent: string, tool: string, script: string): string {

    const dir = Fs.mkdtempSync(Path.join(parent, 'fake-tools-'));
    Fs.writeFileSync(Path.join(dir, tool), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    return dir;
}

export function scratchDatabaseName(label: string): string {

    return `na_backup_${label}_${randomBytes(4).toString('hex')}`;
}
