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
    sampled_at: timestamp.description('When the database figures were read'),
    stats_age_s: Joi.number().min(0).description('Age of the database figures when served (0: read for this request)'),
    pool: poolStatusSchema,
    postgres: figures('PostgresFigures', 'PostgreSQL').optional(),
    sqlite: figures('SqliteFigures', 'SQLite').optional(),
    stats_error: Joi.string().optional().description('Set when the database did not answer the statistics query; pool figures are still current'),
    replicas: Joi.array().items(responseObject('ReplicaReport', {
        target: Joi.string().description('Replica URL, credentials removed'),
        role: Joi.string().valid('standby', 'primary', 'unknown').description('What the server said it is at the last sample'),
        state: Joi.string().valid('starting', 'in-rotation', 'lagging', 'unreachable', 'not-a-standby'),
        in_rotation: Joi.boolean().description('Serves reads now'),
        lag_bytes: Joi.number().integer().min(0).allow(null).description('WAL still to replay, in bytes'),
        lag_seconds: Joi.number().min(0).allow(null).description('How stale its data may be (0: it has replayed everything the primary wrote)'),
        replay_lsn: Joi.string().allow(null).description('pg_last_wal_replay_lsn() at the last sample'),
        sampled_at: timestamp.allow(null),
        reads: count.description('Reads routed to it since start'),
        fallbacks: count.description('Reads it failed that the primary answered instead'),
        error: Joi.string().allow(null).description('The last failure, credentials removed')
    })).description('The read replicas (DATABASE_REPLICA_URLS) as last sampled; empty when none are configured')
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

const heldNowSchema = responseObject('RouteConnectionsHeld', {
    route: Joi.string().description('"GET /resources/{id}", "(background)", or "(no statement yet)"'),
    connections: count,
    longest_hold_ms: Joi.number().min(0)
});

const routeConnectionStatsSchema = responseObject('RouteConnectionStats', {
    route: Joi.string(),
    acquires: count.description('Connections checked out for this route'),
    acquire_wait_total_ms: Joi.number().min(0),
    acquire_wait_mean_ms: Joi.number().min(0),
    acquire_wait_max_ms: Joi.number().min(0),
    hold_total_ms: Joi.number().min(0),
    hold_max_ms: Joi.number().min(0),
    idle_in_transaction_total_ms: Joi.number().min(0).description('Time its connections sat idle between statements'),
    idle_in_transaction_max_ms: Joi.number().min(0)
});

export const connectionReportSchema = responseObject('ConnectionReport', {
    held_now: Joi.array().items(heldNowSchema).description('Connections checked out right now, by route'),
    routes: Joi.array().items(routeConnectionStatsSchema).description('Per route since this instance started, most hold time first')
});

const section = (label: string, what: string) => Joi.object().unknown(true).label(label).optional()
    .description(`${what} (see README, "What the advisor reports")`);

export const advisorReportSchema = responseObject('AdvisorReport', {
    database_type: Joi.string().valid('postgres', 'sqlite'),
    sampled_at: timestamp,
    actions: Joi.array().items(Joi.string()).description('The actions POST /monitoring/advisor/actions accepts on this dialect'),
    postgres: section('PostgresAdvice', 'query_stats, indexes, maintenance and sessions'),
    sqlite: section('SqliteAdvice', 'wal, freelist and integrity')
});

export const advisorActionResultSchema = responseObject('AdvisorActionResult', {
    message: Joi.string().description('What was done')
});

const point = Joi.number().allow(null);

export const historySchema = responseObject('MonitoringHistory', {
    interval_s: Joi.number().min(0),
    t: Joi.array().items(Joi.number()).description('Sample times, seconds since the epoch, oldest first'),
    series: Joi.array().items(responseObject('HistorySeries', {
        name: Joi.string(),
        label: Joi.string(),
        values: Joi.array().items(point).description('One value per sample time; null where the figure does not apply')
    })),
    routes: Joi.array().items(responseObject('HistoryRoute', {
        route: Joi.string(),
        requests_per_s: Joi.array().items(point),
        p95_ms: Joi.array().items(point)
    })).description('The busiest routes of the window')
});

export const integrityCheckJobSchema = responseObject('IntegrityCheckJob', {
    id: Joi.string().guid(),
    mode: Joi.string().valid('quick', 'full').description('quick: PRAGMA quick_check; full: PRAGMA integrity_check (also checks every index against its table)'),
    state: Joi.string().valid('running', 'succeeded', 'failed', 'cancelled').description('failed: problems found, or the check could not run (see error)'),
    verdict: Joi.string().valid('ok', 'problems').allow(null).description('What the check found; null while it runs or when it could not run'),
    problems: Joi.array().items(Joi.string()).description('The pragma\'s lines when it found problems (at most 100)'),
    progress: responseObject('IntegrityCheckProgress', {
        phase: Joi.string(),
        page_count: count
    }).allow(null),
    error: Joi.string().allow(null),
    instance: Joi.string().description('The instance that runs (or ran) the check'),
    started_at: timestamp,
    finished_at: timestamp.allow(null)
});
