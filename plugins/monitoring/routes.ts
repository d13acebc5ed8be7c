// The monitoring routes. JSON and metrics need the admin token: they show SQL
// text, route names and capacity, which is ops data. /metrics can be opened to
// scrapers on a private network with METRICS_PUBLIC=1.

import type { ResponseToolkit, ServerRoute, Request } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY } from '../../server/auth';
import { documented } from '../../server/openapi';
import type { ConnectionHolds } from './connection-holds';
import type { DatabaseStatus } from './database-status';
import type { BackupAges, MonitoringMetrics } from './metrics';
import type { QueryMonitor } from './query-monitor';
import { connectionReportSchema, databaseReportSchema, metricsSchema, queryReportSchema } from './response-schemas';

export interface MonitoringRouteOptions {
    status: DatabaseStatus;
    queries: QueryMonitor;
    metrics: MonitoringMetrics;
    holds: ConnectionHolds;
    metricsPublic: boolean;
}

const noStore = (h: ResponseToolkit, value: object | string) => h.response(value).header('cache-control', 'no-store');

export function monitoringRoutes({ status, queries, metrics, holds, metricsPublic }: MonitoringRouteOptions): ServerRoute[] {

    return [
        {
            method: 'GET',
            path: '/monitoring/database',
            options: {
                tags: ['api', 'monitoring'],
                description: 'Database health and connection pool figures (admin token)',
                auth: ADMIN_STRATEGY,
                plugins: documented({ responses: { 200: { description: 'Pool figures of this moment and the dialect\'s own health figures of the last sample (stats_age_s old; at most 10 s)', schema: databaseReportSchema } } }),
                validate: {
                    query: Joi.object({
                        fresh: Joi.boolean().default(false).description('Read the database figures now instead of serving the last sample (taken every 5 s in the background)')
                    })
                },
                async handler(request: Request, h: ResponseToolkit) {

                    const { fresh } = request.query as { fresh: boolean };
                    return noStore(h, fresh ? await status.report() : await status.cachedReport());
                }
            }
        },
        {
            method: 'GET',
            path: '/monitoring/queries',
            options: {
                tags: ['api', 'monitoring'],
                description: 'Slow-query log and per-route query counts (admin token)',
                auth: ADMIN_STRATEGY,
                plugins: documented({ responses: { 200: { description: 'Slow queries and per-route query statistics', schema: queryReportSchema } } }),
                validate: {
                    query: Joi.object({
                        slow_limit: Joi.number().integer().min(0).max(10_000)
                            .description('Return at most this many of the newest slow queries')
                    })
                },
                handler(request: Request, h: ResponseToolkit) {

                    const report = queries.report();
                    const limit = (request.query as { slow_limit?: number }).slow_limit;
                    if (limit !== undefined) {
                        report.slow_queries = report.slow_queries.slice(0, limit);
                    }

                    return noStore(h, report);
                }
            }
        },
        {
            method: 'GET',
            path: '/monitoring/connections',
            options: {
                tags: ['api', 'monitoring'],
                description: 'Pool connections held per route now (and the longest hold), acquire wait, hold time and idle-in-transaction time per route on this instance (admin token)',
                auth: ADMIN_STRATEGY,
                plugins: documented({ responses: { 200: { description: 'Connections by route', schema: connectionReportSchema } } }),
                handler(_request: Request, h: ResponseToolkit) {

                    return noStore(h, holds.report());
                }
            }
        },
        {
            method: 'GET',
            path: '/metrics',
            options: {
                tags: ['api', 'monitoring'],
                description: 'Monitoring figures in Prometheus text format (admin token unless METRICS_PUBLIC=1)',
                notes: 'For Prometheus scrapers: the pool, query, request and database figures of /monitoring/database and /monitoring/queries as Prometheus text exposition (version 0.0.4), one metric family per figure with HELP and TYPE lines.',
                auth: metricsPublic ? false : ADMIN_STRATEGY,
                plugins: documented({ responses: { 200: { description: 'Prometheus text exposition', schema: metricsSchema } }, contentType: 'text/plain; version=0.0.4' }),
                async handler(request: Request, h: ResponseToolkit) {

                    const backups = (request.server.plugins as { backup?: { freshness?: () => Promise<BackupAges> } }).backup?.freshness;
                    const text = await metrics.render(await status.report(), queries.report(), {
                        connections: holds.report(),
                        backups: backups ? await backups().catch(() => null) : null
                    });
                    return noStore(h, text).type(metrics.contentType);
                }
            }
        }
    ];
}
