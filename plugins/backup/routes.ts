// REST routes of the backup plugin (admin only). Long operations answer 202
// with a job to poll; list and prune answer at once.

import Boom from '@hapi/boom';
import type { ServerRoute } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY } from '../../server/auth';
import { documented } from '../../server/openapi';
import type { BackupEngine, BackupEntry } from './engine';
import { BackupError } from './errors';
import { readFreshness, type FreshnessThresholds } from './freshness';
import { uniquePart, type BackupJobs } from './jobs';
import { backupFreshnessSchema, backupJobListSchema, backupJobSchema, backupJobStartedSchema, backupListSchema, pruneReportSchema } from './response-schemas';

export const BACKUP_NAME = Joi.string().max(255).required().description('a name from GET /backups');
export const TABLE_NAME = Joi.string().pattern(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/);

/** BackupError → the status code that tells the client what happened. */
export function toBoom(error: unknown): Error {

    if (!(error instanceof BackupError)) {
        return error as Error;
    }

    switch (error.kind) {
        case 'invalid': return Boom.badRequest(error.message);
        case 'not-found': return Boom.notFound(error.message);
        case 'conflict': return Boom.conflict(error.message);
        case 'unsupported': return Boom.badData(error.message);
        default: {
            // Tool and operation failures are the server's, but the operator
            // needs the (credential-free) reason.
            const boom = Boom.badImplementation(error.message);
            boom.output.payload.message = error.message;
            return boom;
        }
    }
}

export function describeEntry(entry: BackupEntry) {

    return {
        name: entry.name,
        format: entry.format,
        createdAt: entry.createdAt,
        size: entry.size,
        sha256: entry.manifest?.sha256 ?? null,
        serverVersion: entry.manifest?.serverVersion ?? null,
        tables: entry.manifest?.tables ?? null,
        verification: entry.manifest?.verification ?? null
    };
}

/** Prune deletes files: never while a job on any instance may be reading or writing one. */
export async function refuseWhileRunning(jobs: BackupJobs): Promise<void> {

    const running = await jobs.running();
    if (running) {
        throw new BackupError('conflict', `a backup ${running.operation} job is running (${running.target}; job ${running.id} on instance ${running.instance}); prune when it has finished`);
    }
}

export function backupRoutes(engine: BackupEngine, jobs: BackupJobs, thresholds: FreshnessThresholds): ServerRoute[] {

    const options = (description: string, extra: object = {}) => ({ auth: ADMIN_STRATEGY, tags: ['api', 'backup'], description, ...extra });

    return [
        {
            method: 'GET',
            path: '/backups',
            options: options('Backups of the configured database, newest first, with the running job', {
                plugins: documented({ responses: { 200: { description: 'The backups and the running job', schema: backupListSchema } } })
            }),
            handler: async () => ({
                dialect: engine.dialect,
                database: engine.database,
                formats: engine.formats,
                defaultFormat: engine.defaultFormat,
                backups: (await engine.list()).map(describeEntry),
                job: await jobs.running()
            })
        },
        {
            method: 'GET',
            path: '/backups/freshness',
            options: options('Age of the newest backup and of the newest verified one, against BACKUP_MAX_AGE_HOURS and BACKUP_VERIFIED_MAX_AGE_HOURS', {
                plugins: documented({ responses: { 200: { description: 'How fresh the backups are', schema: backupFreshnessSchema } } })
            }),
            handler: () => readFreshness(engine, thresholds)
        },
        {
            method: 'POST',
            path: '/backups',
            options: options('Start a backup (202 with the job to poll)', {
                validate: { payload: Joi.object({ format: Joi.string().valid(...engine.formats) }).allow(null).label('BackupCreate') },
                plugins: documented({ responses: { 202: { description: 'The job started (poll GET /backup-jobs/{id})', schema: backupJobStartedSchema } }, errors: [409, 422] })
            }),
            handler: async (request, h) => {

                const format = (request.payload as { format?: any } | null)?.format ?? engine.defaultFormat;
                try {
                    return h.response({ job: await jobs.start('create', format, ({ job, ...run }) => engine.create({ format, unique: uniquePart(job), ...run })) }).code(202);
                }
                catch (error) {
                    throw toBoom(error);
                }
            }
        },
        {
            method: 'GET',
            path: '/backup-jobs',
            options: options('Recent backup jobs of every instance, newest first', {
                plugins: documented({ responses: { 200: { description: 'The jobs', schema: backupJobListSchema } } })
            }),
            handler: async () => ({ jobs: await jobs.recent() })
        },
        {
            method: 'GET',
            path: '/backup-jobs/{id}',
            options: options('One backup job: state, progress, result or error', {
                validate: { params: Joi.object({ id: Joi.string().guid().required() }) },
                plugins: documented({ responses: { 200: { description: 'The job', schema: backupJobSchema } }, errors: [404] })
            }),
            handler: async (request) => {

                const job = await jobs.get(String(request.params.id));
                if (!job) {
                    throw Boom.notFound('No such backup job');
                }

                return job;
            }
        },
        {
            method: 'POST',
            path: '/backups/{name}/verify',
            options: options('Restore a backup into a scratch database and compare it with its manifest (202 with the job)', {
                validate: { params: Joi.object({ name: BACKUP_NAME }) },
                plugins: documented({ responses: { 202: { description: 'The job started (poll GET /backup-jobs/{id})', schema: backupJobStartedSchema } }, errors: [404, 409, 422] })
            }),
            handler: async (request, h) => {

                try {
                    const entry = await engine.find(request.params.name);
                    return h.response({ job: await jobs.start('verify', entry.name, ({ job: _job, ...run }) => engine.verify(entry.name, run)) }).code(202);
                }
                catch (error) {
                    throw toBoom(error);
                }
            }
        },
        {
            method: 'POST',
            path: '/backups/{name}/restore',
            options: options('Restore a backup over the configured database, fully or some tables (202 with the job)', {
                validate: {
                    params: Joi.object({ name: BACKUP_NAME }),
                    payload: Joi.object({
                        confirm: Joi.string().required().description('the database name, typed by the operator'),
                        tables: Joi.array().items(TABLE_NAME).min(1).unique()
                    }).label('BackupRestore')
                },
                plugins: documented({ responses: { 202: { description: 'The job started (poll GET /backup-jobs/{id})', schema: backupJobStartedSchema } }, errors: [404, 409, 422] })
            }),
            handler: async (request, h) => {

                const { confirm, tables } = request.payload as { confirm: string; tables?: string[] };
                if (confirm !== engine.confirmationName) {
                    throw Boom.badRequest(`To restore, set confirm to the database name "${engine.confirmationName}"`);
                }

                try {
                    const entry = await engine.checkRestore(request.params.name, tables);
                    return h.response({ job: await jobs.start('restore', entry.name, ({ job: _job, ...run }) => engine.restore(entry.name, { tables, ...run })) }).code(202);
                }
                catch (error) {
                    throw toBoom(error);
                }
            }
        },
        {
            method: 'POST',
            path: '/backups/prune',
            options: options('Delete backups outside the retention policy (dryRun: only report)', {
                validate: { payload: Joi.object({ dryRun: Joi.boolean().default(false) }).allow(null).label('BackupPrune') },
                plugins: documented({ responses: { 200: { description: 'What was kept and why, what was deleted', schema: pruneReportSchema } }, errors: [409] })
            }),
            handler: async (request) => {

                try {
                    const dryRun = Boolean((request.payload as { dryRun?: boolean } | null)?.dryRun);
                    if (!dryRun) {
                        await refuseWhileRunning(jobs);
                    }

                    return await engine.prune({ dryRun });
                }
                catch (error) {
                    throw toBoom(error);
                }
            }
        }
    ];
}
