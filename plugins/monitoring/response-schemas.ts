// Joi schemas of the monitoring routes' JSON bodies (OpenAPI components,
// checked against real responses by test/contract).

import Joi from 'joi';

import { responseObject, timestamp } from '../../server/openapi/schema';

const count = Joi.number().integer().min(0);
const ms = Joi.number().min(0).allow(null);

export const poolStatusSchema = responseObject('PoolStatus', {
    min: count,
    max: count,
    in_use: count,
    free: count,
    open: count,
    waiting: count,
    pending_creates: count,
    overflow_in_use: count.description('Connections checked out beyond the kept base (min)'),
    overflow_open: count.description('Connections open beyond the kept base (min)'),
    utilization_percent: Joi.number().min(0),
    acquire_timeout_ms: count,
    recycle_s: count.allow(null),
    acquire: responseObject('PoolAcquireTimes', {
        window_s: count,
        samples: count,
        p50_ms: ms,
        p95_ms: ms,
        max_ms: ms
    }).description('Time to get a connection over the recent window'),
    acquire_timeouts: count,
    create_failures: count,
    destroyed: responseObject('PoolDestroyedConnections', { dead: count, recycled: count, idle: count })
});

const figures = (label: string, engine: string) => Joi.object().unknown(true).label(label)
    .description(`${engine} figures by name: numbers, text, null, or { label: number } maps (see README, Ops routes)`);

export const databaseReportSchema = responseObject('DatabaseReport', {
    database_type: Joi.string().valid('postgres', 'sqlite'),
    version: Joi.string().allow(null),
    target: Joi.string().description('Connection target, credentials removed'),
    sampled_at: timestamp,
    pool: poolStatusSchema,
    postgres: figures('PostgresFigures', 'PostgreSQL').optional(),
    sqlite: figures('SqliteFigures', 'SQLite').optional(),
    stats_error: Joi.string().optional().description('Set when the database did not answer the statistics query; pool figures are still current')
});

const slowQuerySchema = responseObject('SlowQuery', {
    at: timestamp,
    duration_ms: Joi.number().min(0),
    sql: Joi.string().description('The statement with placeholders; bindings are never kept'),
    bindings: count,
    route: Joi.string().allow(null).description('"GET /resources/{id}", or null for background work'),
    request_id: Joi.string().allow(null),
    failed: Joi.boolean()
});

const routeStatsSchema = responseObject('RouteQueryStats', {
    route: Joi.string(),
    requests: count,
    queries: count,
    queries_per_request: Joi.number().min(0),
    total_query_ms: Joi.number().min(0),
    max_query_ms: Joi.number().min(0),
    max_queries_per_request: count,
    n_plus_one_requests: count,
    suspected_n_plus_one: Joi.boolean()
});

export const queryReportSchema = responseObject('QueryReport', {
    attribution: Joi.boolean().description('False when QUERY_ATTRIBUTION is off'),
    attribution_mode: Joi.string().valid('request', 'async', 'off'),
    slow_query_ms: Joi.number().min(0),
    n_plus_one_threshold: count,
    slow_queries_total: count,
    slow_queries: Joi.array().items(slowQuerySchema).description('Newest first'),
    routes: Joi.array().items(routeStatsSchema),
    background: responseObject('BackgroundQueryStats', {
        queries: count,
        total_query_ms: Joi.number().min(0),
        max_query_ms: Joi.number().min(0)
    })
});

export const metricsSchema = Joi.string()
    .description('Prometheus text exposition format (version 0.0.4): pool, query, request and database figures');
