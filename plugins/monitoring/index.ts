// monitoring: pool and database health, slow-query log, per-route query
// counts, pool-pressure warnings, Prometheus metrics and two console panels.

import type { Plugin, Request, ResponseToolkit } from '@hapi/hapi';

import type { Config } from '../../server/config';
import { CONSOLE_PANELS } from '../../server/console/panel';
import { createDatabaseEngine } from '../../server/db/engine';
import { originOf } from '../../server/db/scope';
import { databaseKey, forDialect } from '../../server/db/url';
import type { DatabaseEngine } from '../../server/db/types';
import { DatabaseAdvisor } from './advisor';
import { ADVISOR_PANEL } from './advisor-panel';
import { advisorRoutes } from './advisor-routes';
import { IntegrityChecks } from './integrity-checks';
import { integrityRoutes } from './integrity-routes';
import { chartsRoutes, CHARTS_PANEL } from './charts';
import { ConnectionHolds } from './connection-holds';
import { DatabaseStatus, probeFor } from './database-status';
import { HISTORY_INTERVAL_MS, MetricsHistory } from './history';
import { MonitoringMetrics } from './metrics';
import { panelRoutes, POOL_PANEL, QUERIES_PANEL } from './panel';
import { PoolMonitor, type TarnPool } from './pool-monitor';
import { QueryMonitor, routeOf } from './query-monitor';
import { commentRoutes } from './route-comments';
import { monitoringRoutes } from './routes';

export type { DatabaseReport } from './database-status';
export type { PoolStatus } from './pool-monitor';
export type { QueryReport, RouteQueryStats, SlowQuery } from './query-monitor';

export interface MonitoringOptions {
    config: Config;
}

/**
 * A connection of its own for the statistics queries: the figures still come
 * when the application pool is exhausted, and monitoring never shows up in
 * the pool figures it reports. An in-memory SQLite database exists only on
 * the application's connection, so that one is shared.
 */
function statsEngineFor(engine: DatabaseEngine, config: Config): DatabaseEngine | null {

    if (engine.inMemory) {
        return null;
    }

    return createDatabaseEngine(config.database.url, {
        min: 0,
        max: 1,
        acquireTimeoutMs: 5_000,
        statementTimeoutMs: 5_000,
        idleTimeoutMs: 10_000,
        sqliteBusyTimeoutMs: 1_000,
        applicationName: 'neo-alexandria-monitoring'
    }, { baseDir: config.rootDir });
}

export const plugin: Plugin<MonitoringOptions> = {
    name: 'monitoring',
    dependencies: ['db-engine', 'admin-auth', 'jobs'],
    register(server, { config }) {

        const engine = server.db;
        const settings = config.monitoring;

        // Told of checkouts by the pool monitor and of statements by the query
        // monitor: one set of pool and knex listeners on the request path.
        const holds: ConnectionHolds = new ConnectionHolds(engine.knex.client.pool as TarnPool,
            (query): Request | null => originOf<Request>(query.queryContext) ?? queries.currentRequest());

        const queries: QueryMonitor = new QueryMonitor(engine.knex, {
            statements: holds,
            attribution: settings.queryAttribution,
            slowQueryMs: config.slowQueryMs,
            slowLogSize: settings.slowLogSize,
            nPlusOneQueries: settings.nPlusOneQueries,
            onSlowQuery(entry, request) {

                (request ?? server).log(['db', 'slow-query', 'warn'], { msg: `Slow query: ${entry.duration_ms} ms`, ...entry });
            }
        });

        // Reads served by a replica count for their route like any other.
        for (const replica of server.replicas.replicas) {
            queries.observe(replica.engine.knex);
        }

        const probe = probeFor(engine);
        const metrics = new MonitoringMetrics(probe, settings.instanceName);
        const pool = new PoolMonitor(engine.knex.client.pool as TarnPool, {
            settings: engine.pool,
            warnPercent: settings.poolWarnPercent,
            warnIntervalMs: settings.poolWarnIntervalS * 1000,
            onPressure(pressure) {

                (queries.currentRequest() ?? server).log(['db', 'pool', 'warn'], {
                    msg: `Connection pool ${pressure.utilization_percent} % in use (${pressure.in_use} of ${pressure.max}, ${pressure.waiting} waiting)`,
                    ...pressure
                });
            },
            onAcquire(ms, resource, now) {

                metrics.observeAcquire(ms);
                holds.acquired(resource, ms, now);
            }
        });

        const statsEngine = statsEngineFor(engine, config);
        const status = new DatabaseStatus({
            engine,
            pool,
            probe,
            statsKnex: statsEngine?.knex ?? engine.knex,
            errorCount: (code) => queries.errorCount(code),
            replicas: () => server.replicas.status()
        });
        // Long checks get a connection of their own, so the figures above keep coming.
        // (SQLite only: PostgreSQL's equivalent is amcheck, which the route points to.)
        const integrityChecks = forDialect<() => IntegrityChecks | null>(engine.type, {
            sqlite: () => new IntegrityChecks(server.jobs, databaseKey(config.database.url, config.rootDir),
                () => (statsEngine ? createDatabaseEngine(config.database.url, { min: 0, max: 1, sqliteBusyTimeoutMs: 1_000 }, { baseDir: config.rootDir }) : { knex: engine.knex, destroy: async () => {}, shared: true })),
            postgres: () => null
        })();
        const advisor = new DatabaseAdvisor(engine, {
            statsKnex: statsEngine?.knex ?? engine.knex,
            appKnex: engine.knex,
            applicationName: config.pool.applicationName ?? 'neo-alexandria',
            integrityChecks
        });

        if (queries.tracksAsyncContext) {
            // First of all onRequest extensions: hapi calls the first one in
            // the same synchronous run that starts the request, so the context
            // entered there is inherited by the whole lifecycle. A later one
            // runs after an await, and its context would end with it.
            server.ext('onRequest', (request: Request, h: ResponseToolkit) => {

                queries.enter(request);
                return h.continue;
            }, { before: ['hapi-pino'] });
        }

        // PostgreSQL shows each session's last statement: the route's name
        // in it tells the advisor which route a session belongs to.
        const uncomment = forDialect<() => (() => void) | null>(engine.type, { postgres: () => commentRoutes(engine.knex), sqlite: () => null })();

        const history = new MetricsHistory();
        server.events.on('response', (request: Request) => {

            const route = routeOf(request);
            const ms = (request.info.completed || request.info.responded || Date.now()) - request.info.received;
            queries.complete(request, route);
            history.record(route, ms);
            metrics.observeRequest(route, ms);
        });

        // The charts' samples: one timer per instance, off the request path.
        let sampler: NodeJS.Timeout | null = null;
        server.ext('onPostStart', () => {

            const sample = async () => {

                try {
                    history.sample(await status.report(), queries.report());
                }
                catch (error) {
                    server.log(['monitoring', 'history', 'warn'], { msg: 'Could not sample the monitoring history', error: (error as Error).message });
                }
            };

            // A first point at once, so the charts have something to draw.
            void sample();
            sampler = setInterval(sample, HISTORY_INTERVAL_MS);
            sampler.unref();
        });
        server.ext('onPreStop', () => {

            if (sampler) {
                clearInterval(sampler);
                sampler = null;
            }
        });

        server.ext('onPostStop', async () => {

            uncomment?.();
            queries.detach();
            pool.detach();
            holds.detach();
            await statsEngine?.destroy();
        });

        server.route([
            ...monitoringRoutes({ status, queries, metrics, holds, metricsPublic: settings.metricsPublic }),
            ...panelRoutes(status, queries, holds),
            ...advisorRoutes(advisor),
            ...integrityRoutes(integrityChecks),
            ...chartsRoutes(history)
        ]);

        server.expose(CONSOLE_PANELS, [POOL_PANEL, CHARTS_PANEL, QUERIES_PANEL, ADVISOR_PANEL]);
    }
};
