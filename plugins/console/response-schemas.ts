// Joi schema of GET /ops/overview (an OpenAPI component, checked against
// real responses by test/contract).

import Joi from 'joi';

import { responseObject, timestamp } from '../../server/openapi/schema';

export const overviewSchema = responseObject('Overview', {
    dialect: Joi.string(),
    version: Joi.string().allow(null),
    target: Joi.string().description('Connection target, credentials removed'),
    started_at: timestamp,
    uptime_s: Joi.number().integer().min(0),
    health: responseObject('OverviewHealth', {
        status: Joi.string().valid('ok', 'degraded'),
        latency_ms: Joi.number().min(0).allow(null),
        error: Joi.string().allow(null).description('Why the database is degraded, credentials removed')
    }),
    database_size_bytes: Joi.number().integer().min(0).allow(null),
    pool: responseObject('OverviewPool', { min: Joi.number().integer().min(0), max: Joi.number().integer().min(0) }),
    search_engine: Joi.string().allow(null),
    node_version: Joi.string(),
    env: Joi.string()
});
