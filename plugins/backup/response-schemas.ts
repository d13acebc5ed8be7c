// Joi schemas of the backup routes' JSON bodies (OpenAPI components,
// checked against real responses by test/contract).

import Joi from 'joi';

import { responseObject, timestamp, uuidString } from '../../server/openapi/schema';
import { EXTENSIONS } from './names';

const BACKUP_FORMATS = Object.keys(EXTENSIONS);

const rowCounts = (label: string) => Joi.object().pattern(Joi.string(), Joi.number().integer().min(0)).label(label)
    .description('Rows per table');

const verificationSchema = Joi.object().unknown(true).label('BackupVerification')
    .description('The last verification of this backup (as recorded in its manifest)');

export const backupEntrySchema = responseObject('Backup', {
    name: Joi.string(),
    format: Joi.string().valid(...BACKUP_FORMATS),
    createdAt: timestamp,
    size: Joi.number().integer().min(0).description('Bytes'),
    sha256: Joi.string().allow(null),
    serverVersion: Joi.string().allow(null),
    tables: rowCounts('BackupTableRows').allow(null),
    verification: verificationSchema.allow(null)
});

export const backupJobSchema = responseObject('BackupJob', {
    id: uuidString,
    operation: Joi.string().valid('create', 'verify', 'restore'),
    target: Joi.string().description('The backup the job works on (create: the format)'),
    state: Joi.string().valid('running', 'succeeded', 'failed', 'cancelled'),
    instance: Joi.string().description('The instance that runs (or ran) the job'),
    startedAt: timestamp,
    finishedAt: timestamp.allow(null),
    progress: responseObject('BackupProgress', {
        phase: Joi.string(),
        done: Joi.number().min(0).optional(),
        total: Joi.number().min(0).optional()
    }).allow(null),
    result: Joi.object().unknown(true).allow(null).label('BackupJobResult')
        .description('create: the new Backup; verify: the verification report; restore: the restore report'),
    error: Joi.string().allow(null)
});

export const backupListSchema = responseObject('BackupList', {
    dialect: Joi.string().valid('postgres', 'sqlite'),
    database: Joi.string(),
    formats: Joi.array().items(Joi.string().valid(...BACKUP_FORMATS)),
    defaultFormat: Joi.string().valid(...BACKUP_FORMATS),
    backups: Joi.array().items(backupEntrySchema).description('Newest first'),
    job: backupJobSchema.allow(null).description('The running job, if any')
});

export const backupJobStartedSchema = responseObject('BackupJobStarted', { job: backupJobSchema });

export const backupJobListSchema = responseObject('BackupJobList', {
    jobs: Joi.array().items(backupJobSchema).description('Newest first, from every instance')
});

export const pruneReportSchema = responseObject('BackupPruneReport', {
    dryRun: Joi.boolean(),
    keep: Joi.array().items(responseObject('BackupKept', { name: Joi.string(), reasons: Joi.array().items(Joi.string()) })),
    remove: Joi.array().items(Joi.string()).description('Deleted (dryRun: would be deleted)')
});

const newestBackupSchema = responseObject('NewestBackup', {
    name: Joi.string(),
    created_at: timestamp,
    age_s: Joi.number().integer().min(0)
}).allow(null);

export const backupFreshnessSchema = responseObject('BackupFreshness', {
    newest: newestBackupSchema.description('The newest backup, or null when there is none'),
    newest_verified: newestBackupSchema.description('The newest backup whose verification passed, or null'),
    max_age_hours: Joi.number().integer().min(0).description('BACKUP_MAX_AGE_HOURS (0: no warning)'),
    verified_max_age_hours: Joi.number().integer().min(0).description('BACKUP_VERIFIED_MAX_AGE_HOURS (0: no warning)'),
    stale: Joi.boolean().description('No backup, or the newest is older than max_age_hours'),
    verified_stale: Joi.boolean().description('No verified backup, or the newest verified one is older than verified_max_age_hours')
});
