// JSON routes: schema-migration control and data-migration jobs (admin only).

import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY } from '../../server/auth';
import { DatabaseUrlError, parseDatabaseUrl } from '../../server/db/url';
import { JobConflictError, type JobOptions, type MigrationJobs } from './jobs';
import { MAX_BATCH_SIZE, MigrationUsageError } from './migrator';
import { MigrationBusyError, migrateLatest, rollbackLastBatch, schemaStatus } from './schema-control';

const databaseUrl = Joi.string().trim().max(2048).custom((value: string) => {

    try {
        parseDatabaseUrl(value);
    }
    catch (error) {
        throw new Error((error as DatabaseUrlError).message);
    }

    return value;
}, 'database URL');

export const jobPayload = Joi.object({
    source: databaseUrl.required(),
    target: databaseUrl.required(),
    validate: Joi.boolean().default(true),
    verifyRows: Joi.boolean().default(false),
    dryRun: Joi.boolean().default(false),
    resume: Joi.boolean().default(false),
    truncate: Joi.boolean().default(false),
    batchSize: Joi.number().integer().min(1).max(MAX_BATCH_SIZE).default(1000),
    // The reject file goes to the server's data directory (never a path from the request).
    onInvalid: Joi.string().valid('fail', 'reject').default('fail'),
    maintenance: Joi.boolean().default(false),
    tables: Joi.array().items(Joi.string().pattern(/^[A-Za-z_][A-Za-z0-9_]*$/)).min(1).unique()
}).messages({ 'any.custom': '{{#error.message}}' });

/** Turns engine errors into the HTTP errors a client can act on. */
export function mapMigratorError(error: unknown): never {

    if (error instanceof MigrationUsageError) {
        throw Boom.badRequest(error.message);
    }

    if (error instanceof JobConflictError || error instanceof MigrationBusyError) {
        throw Boom.conflict(error.message);
    }

    throw error;
}

/** Where a job's set-aside rows go, relative to the server's root directory. */
export function rejectFileFor(options: JobOptions): JobOptions {

    return options.onInvalid === 'reject' ? { ...options, rejectFile: `data/migration-rejects-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl` } : options;
}

export function startJob(jobs: MigrationJobs, options: JobOptions) {

    try {
        return jobs.start(rejectFileFor(options));
    }
    catch (error) {
        return mapMigratorError(error);
    }
}

export function registerRoutes(server: Server, jobs: MigrationJobs): void {

    const auth = { strategy: ADMIN_STRATEGY };
    server.route([
        {
            method: 'GET',
            path: '/migrator/schema',
            options: { auth, tags: ['api', 'migrator'], description: 'Schema migrations: completed, pending, lock state' },
            handler: (request) => schemaStatus(request.server.knex)
        },
        {
            method: 'POST',
            path: '/migrator/schema/latest',
            options: { auth, tags: ['api', 'migrator'], description: 'Apply every pending schema migration' },
            handler: (request) => migrateLatest(request.server.knex).catch(mapMigratorError)
        },
        {
            method: 'POST',
            path: '/migrator/schema/rollback',
            options: {
                auth,
                tags: ['api', 'migrator'],
                description: 'Roll back the last batch of schema migrations (send {"confirm": true})',
                validate: { payload: Joi.object({ confirm: Joi.boolean().valid(true).required() }) }
            },
            handler: (request) => rollbackLastBatch(request.server.knex).catch(mapMigratorError)
        },
        {
            method: 'POST',
            path: '/migrator/jobs',
            options: { auth, tags: ['api', 'migrator'], description: 'Start a data migration job (one at a time)', validate: { payload: jobPayload } },
            handler: (request, h) => h.response(startJob(jobs, request.payload as JobOptions)).code(202)
        },
        {
            method: 'GET',
            path: '/migrator/jobs/current',
            options: { auth, tags: ['api', 'migrator'], description: 'The current (or last) data migration job with live progress' },
            handler: () => jobs.current() ?? Boom.notFound('No data migration has run since the server started')
        },
        {
            method: 'DELETE',
            path: '/migrator/jobs/current',
            options: { auth, tags: ['api', 'migrator'], description: 'Cancel the running job after its current batch (resumable)' },
            handler: (_request, h) => (jobs.cancel() ? h.response({ cancelling: true }).code(202) : Boom.conflict('No data migration is running'))
        }
    ]);
}
