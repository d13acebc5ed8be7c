// The monitoring routes. JSON and metrics need the admin token: they show SQL
// text, route names and capacity, which is ops data. /metrics can be opened to
// scrapers on a private network with METRICS_PUBLIC=1.

import type { ResponseToolkit, ServerRoute, Request } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY } from '../../server/auth';
import type { ConnectionHolds } from './connection-holds';
import type { DatabaseStatus } from './database-status';
import type { MonitoringMetrics } from './metrics';
import type { QueryMonitor } from './query-monitor';

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
                async handler(_request: Request, h: ResponseToolkit) {

                    return noStore(h, await status.report());
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
                handler(_request: Request, h: ResponseToolkit) {

                    return noStore(h, holds.report());
                }
            }
        },
        {
            method: 'GET',
            path: '/metrics',
            options: {
                tags: ['monitoring'],
                description: 'Monitoring figures in Prometheus text format',
                auth: metricsPublic ? false : ADMIN_STRATEGY,
                async handler(_request: Request, h: ResponseToolkit) {

                    const text = await metrics.render(await status.report(), queries.report());
                    return noStore(h, text).type(metrics.contentType);
                }
            }
        }
    ];
}
