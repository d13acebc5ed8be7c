// How fresh the backups are: the age of the newest backup and of the newest
// one a verification passed, against the operator's thresholds
// (BACKUP_MAX_AGE_HOURS, BACKUP_VERIFIED_MAX_AGE_HOURS). Read from the backup
// directory's manifests, so every instance sharing it reports the same.

import type { BackupEngine, BackupEntry } from './engine';

export interface NewestBackup {
    name: string;
    created_at: string;
    age_s: number;
}

export interface BackupFreshness {
    newest: NewestBackup | null;
    newest_verified: NewestBackup | null;
    max_age_hours: number;
    verified_max_age_hours: number;
    /** True when no backup exists or the newest is older than max_age_hours (never with a 0 threshold). */
    stale: boolean;
    verified_stale: boolean;
}

export interface FreshnessThresholds {
    maxAgeHours: number;
    verifiedMaxAgeHours: number;
}

function describe(entry: BackupEntry | undefined, now: number): NewestBackup | null {

    return entry ? { name: entry.name, created_at: entry.createdAt, age_s: Math.max(0, Math.round((now - Date.parse(entry.createdAt)) / 1000)) } : null;
}

const tooOld = (backup: NewestBackup | null, hours: number) => hours > 0 && (!backup || backup.age_s > hours * 3600);

export function backupFreshness(entries: readonly BackupEntry[], thresholds: FreshnessThresholds, now = Date.now()): BackupFreshness {

    const byAge = [...entries].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    const newest = describe(byAge[0], now);
    const newestVerified = describe(byAge.find((entry) => entry.manifest?.verification?.ok === true), now);
    return {
        newest,
        newest_verified: newestVerified,
        max_age_hours: thresholds.maxAgeHours,
        verified_max_age_hours: thresholds.verifiedMaxAgeHours,
        stale: tooOld(newest, thresholds.maxAgeHours),
        verified_stale: tooOld(newestVerified, thresholds.verifiedMaxAgeHours)
    };
}

/** The freshness of an engine's backups now. */
export async function readFreshness(engine: BackupEngine, thresholds: FreshnessThresholds): Promise<BackupFreshness> {

    return backupFreshness(await engine.list(), thresholds);
}
