// Joi schemas of the migrator routes' JSON bodies (OpenAPI components,
// checked against real responses by test/contract).

import Joi from 'joi';

import { responseObject, timestamp, uuidString } from '../../server/openapi/schema';

const names = Joi.array().items(Joi.string());

export const schemaStatusSchema = responseObject('SchemaStatus', {
    completed: names.description('Applied migrations, oldest first'),
    pending: names.description('Migrations not applied yet'),
    locked: Joi.boolean().description('knex\'s migration lock is held (a migration is running, or one died holding it)')
});

export const schemaChangeSchema = responseObject('SchemaChange', {
    batch: Joi.number().integer().min(0),
    migrations: names.description('Migrations applied or rolled back')
});

const tableReportSchema = Joi.object().unknown(true).label('TableReport')
    .description('Per table: sourceRows, targetRows, copiedRows, checksumMatch, durationMs, rowsPerSecond, status, errors');

const migrationReportSchema = Joi.object({ tables: Joi.array().items(tableReportSchema) }).unknown(true).label('MigrationReport')
    .description('The final report (the same as the CLI\'s --report): source, target, dry run, totals, per-table results, schema issues');

export const migrationJobSchema = responseObject('DataMigrationJob', {
    id: uuidString,
    status: Joi.string().valid('running', 'succeeded', 'failed', 'cancelled'),
    source: Joi.string().description('Credentials removed'),
    target: Joi.string().description('Credentials removed'),
    dryRun: Joi.boolean(),
    instance: Joi.string().description('The instance that runs (or ran) the job'),
    startedAt: timestamp,
    finishedAt: timestamp.allow(null),
    phase: Joi.string(),
    tables: Joi.array().items(responseObject('DataMigrationTableProgress', {
        table: Joi.string(),
        rows: Joi.number().integer().min(0),
        done: Joi.number().integer().min(0),
        status: Joi.string().valid('waiting', 'copying', 'done', 'failed')
    })),
    report: migrationReportSchema.allow(null),
    error: Joi.string().allow(null)
});

export const migrationJobListSchema = responseObject('DataMigrationJobList', {
    jobs: Joi.array().items(migrationJobSchema).description('Newest first, from every instance')
});

export const cancellingSchema = responseObject('DataMigrationCancelling', { cancelling: Joi.boolean().valid(true) });
