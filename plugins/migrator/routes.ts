// JSON routes: schema-migration control and data-migration jobs (admin only).

import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY } from '../../server/auth';
import type { Config } from '../../server/config';
import { directUrlFor } from '../../server/db/direct';
import { DatabaseUrlError, parseDatabaseUrl } from '../../server/db/url';
import { documented } from '../../server/openapi';
import { serviceUnavailable } from '../../server/errors';
import { JobConflictError, type JobOptions, type MigrationJobs } from './jobs';
import { MAX_BATCH_SIZE, MigrationUsageError } from './migrator';
import { cancellingSchema, migrationJobListSchema, migrationJobSchema, schemaChangeSchema, schemaStatusSchema } from './response-schemas';
import { MigrationBusyError, migrateLatest, ReadOnlyStandbyError, rollbackLastBatch, schemaStatus } from './schema-control';

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
}).messages({ 'any.custom': '{{#error.message}}' }).label('DataMigrationJobCreate');

/** Turns engine errors into the HTTP errors a client can act on. */
export function mapMigratorError(error: unknown): never {

    if (error instanceof MigrationUsageError) {
        throw Boom.badRequest(error.message);
    }

    if (error instanceof JobConflictError || error instanceof MigrationBusyError) {
        throw Boom.conflict(error.message);
    }

    if (error instanceof ReadOnlyStandbyError) {
        throw serviceUnavailable(error.message, 30);
    }

    throw error;
}

/** Where a job's set-aside rows go, relative to the server's root directory. */
export function rejectFileFor(options: JobOptions): JobOptions {

    return options.onInvalid === 'reject' ? { ...options, rejectFile: `data/migration-rejects-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl` } : options;
}

/** Starts a job; a URL naming the configured database gets its direct connection (db-engine decides). */
export async function startJob(jobs: MigrationJobs, options: JobOptions, config: Config) {

    try {
        return await jobs.start(rejectFileFor({ ...options, source: directUrlFor(config, options.source), target: directUrlFor(config, options.target) }));
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
            options: {
                auth,
                tags: ['api', 'migrator'],
                description: 'Schema migrations: completed, pending, lock state',
                plugins: documented({ responses: { 200: { description: 'The schema\'s migration state', schema: schemaStatusSchema } } })
            },
            handler: (request) => schemaStatus(request.server.knex)
        },
        {
            method: 'POST',
            path: '/migrator/schema/latest',
            options: {
                auth,
                tags: ['api', 'migrator'],
                description: 'Apply every pending schema migration',
                plugins: documented({ responses: { 200: { description: 'The batch applied (empty when nothing was pending)', schema: schemaChangeSchema } }, errors: [409, 503] })
            },
            handler: (request) => migrateLatest(request.server.knex).catch(mapMigratorError)
        },
        {
            method: 'POST',
            path: '/migrator/schema/rollback',
            options: {
                auth,
                tags: ['api', 'migrator'],
                description: 'Roll back the last batch of schema migrations (send {"confirm": true})',
                validate: { payload: Joi.object({ confirm: Joi.boolean().valid(true).required() }).label('SchemaRollback') },
                plugins: documented({ responses: { 200: { description: 'The batch rolled back', schema: schemaChangeSchema } }, errors: [409, 503] })
            },
            handler: (request) => rollbackLastBatch(request.server.knex).catch(mapMigratorError)
        },
        {
            method: 'POST',
            path: '/migrator/jobs',
            options: {
                auth,
                tags: ['api', 'migrator'],
                description: 'Start a data migration job (one running job per target database, across instances)',
                validate: { payload: jobPayload },
                plugins: documented({ responses: { 202: { description: 'The job started (poll GET /migrator/jobs/{id})', schema: migrationJobSchema } }, errors: [409] })
            },
            handler: async (request, h) => h.response(await startJob(jobs, request.payload as JobOptions, request.server.config)).code(202)
        },
        {
            method: 'GET',
            path: '/migrator/jobs',
            options: {
                auth,
                tags: ['api', 'migrator'],
                description: 'Recent data migration jobs of every instance, newest first',
                plugins: documented({ responses: { 200: { description: 'The jobs', schema: migrationJobListSchema } } })
            },
            handler: async () => ({ jobs: await jobs.recent() })
        },
        {
            method: 'GET',
            path: '/migrator/jobs/current',
            options: {
                auth,
                tags: ['api', 'migrator'],
                description: 'The current (or last) data migration job with live progress',
                plugins: documented({ responses: { 200: { description: 'The job', schema: migrationJobSchema } }, errors: [404] })
            },
            handler: async () => await jobs.current() ?? Boom.notFound('No data migration has run on this database yet')
        },
        {
            method: 'GET',
            path: '/migrator/jobs/{id}',
            options: {
                auth,
                tags: ['api', 'migrator'],
                description: 'One data migration job (started on any instance) with its progress and report',
                validate: { params: Joi.object({ id: Joi.string().guid().required() }) },
                plugins: documented({ responses: { 200: { description: 'The job', schema: migrationJobSchema } }, errors: [404] })
            },
            handler: async (request) => await jobs.get(String(request.params.id)) ?? Boom.notFound('No such data migration job')
        },
        {
            method: 'DELETE',
            path: '/migrator/jobs/current',
            options: {
                auth,
                tags: ['api', 'migrator'],
                description: 'Cancel the running job after its current batch (resumable)',
                plugins: documented({ responses: { 202: { description: 'The job stops after its current batch', schema: cancellingSchema } }, errors: [409] })
            },
            handler: async (_request, h) => (await jobs.cancel() ? h.response({ cancelling: true }).code(202) : Boom.conflict('No data migration is running'))
        }
    ]);
}
