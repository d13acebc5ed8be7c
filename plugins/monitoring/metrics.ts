// GET /metrics: the monitoring figures in Prometheus text format. Each server
// has its own registry, so several servers in one process never collide.

import { Counter, Gauge, Registry } from 'prom-client';

import type { DatabaseReport } from './database-status';
import type { DatabaseProbe, FigureValue } from './dialects/types';
import type { QueryReport } from './query-monitor';

type Metric = Gauge<string> | Counter<string>;

interface Bound {
    metric: Metric;
    read(report: DatabaseReport, queries: QueryReport): Array<[Record<string, string>, number | null]>;
}

const BACKGROUND = '(background)';

function setValue(metric: Metric, labels: Record<string, string>, value: number): void {

    if (metric instanceof Gauge) {
        metric.set(labels, value);
    }
    else {
        // Counters mirror totals kept elsewhere: reset() then inc() sets them.
        metric.inc(labels, value);
    }
}

export class MonitoringMetrics {

    readonly registry = new Registry();
    private readonly bound: Bound[] = [];

    constructor(probe: DatabaseProbe) {

        const pool = (field: keyof DatabaseReport['pool'], name: string, help: string, scale = 1) => {

            this.gauge(name, help, [], (report) => [[{}, (report.pool[field] as number) * scale]]);
        };

        this.gauge('na_db_info', 'Database dialect and server version (value 1)', ['dialect', 'version'],
            (report) => [[{ dialect: report.database_type, version: report.version ?? 'unknown' }, 1]]);
        this.gauge('na_db_stats_up', '1 when the database answered the statistics query', [],
            (report) => [[{}, report.stats_error ? 0 : 1]]);
        pool('min', 'na_db_pool_min', 'Connections the pool keeps open');
        pool('max', 'na_db_pool_max', 'Most connections the pool may open');
        pool('in_use', 'na_db_pool_in_use', 'Connections checked out');
        pool('free', 'na_db_pool_free', 'Open idle connections');
        pool('open', 'na_db_pool_open', 'Open connections');
        pool('waiting', 'na_db_pool_waiting', 'Requests waiting for a connection');
        pool('pending_creates', 'na_db_pool_pending_creates', 'Connections being opened');
        pool('overflow_in_use', 'na_db_pool_overflow_in_use', 'Connections checked out beyond the kept base');
        pool('utilization_percent', 'na_db_pool_utilization_ratio', 'In use / max', 0.01);
        this.gauge('na_db_pool_acquire_seconds', 'Time to get a connection over the recent window', ['quantile'], (report) => [
            [{ quantile: '0.5' }, ms(report.pool.acquire.p50_ms)],
            [{ quantile: '0.95' }, ms(report.pool.acquire.p95_ms)]
        ]);
        this.counter('na_db_pool_acquire_timeouts_total', 'Requests that got no connection within the acquire timeout', [],
            (report) => [[{}, report.pool.acquire_timeouts]]);
        this.counter('na_db_pool_create_failures_total', 'Failed attempts to open a connection', [],
            (report) => [[{}, report.pool.create_failures]]);
        this.counter('na_db_pool_destroyed_total', 'Connections closed by the pool, by reason', ['reason'],
            (report) => Object.entries(report.pool.destroyed).map(([reason, count]) => [{ reason }, count]));

        this.counter('na_http_requests_total', 'Requests served, by route', ['route'],
            (_report, queries) => queries.routes.map((route) => [{ route: route.route }, route.requests]));
        this.counter('na_db_queries_total', 'Queries run, by the route that issued them', ['route'], (_report, queries) => [
            ...queries.routes.map((route): [Record<string, string>, number] => [{ route: route.route }, route.queries]),
            [{ route: BACKGROUND }, queries.background.queries]
        ]);
        this.counter('na_db_query_seconds_total', 'Time spent in queries, by the route that issued them', ['route'], (_report, queries) => [
            ...queries.routes.map((route): [Record<string, string>, number] => [{ route: route.route }, route.total_query_ms / 1000]),
            [{ route: BACKGROUND }, queries.background.total_query_ms / 1000]
        ]);
        this.counter('na_db_n_plus_one_requests_total', 'Requests that ran more queries than the N+1 threshold', ['route'],
            (_report, queries) => queries.routes.map((route) => [{ route: route.route }, route.n_plus_one_requests]));
        this.counter('na_db_slow_queries_total', 'Queries slower than SLOW_QUERY_MS', [],
            (_report, queries) => [[{}, queries.slow_queries_total]]);

        for (const spec of probe.metrics) {
            const read = (report: DatabaseReport): Array<[Record<string, string>, number | null]> => {

                const value: FigureValue | undefined = report[probe.section]?.[spec.field];
                if (spec.label) {
                    return Object.entries((value ?? {}) as Record<string, number>).map(([key, count]) => [{ [spec.label!]: key }, count]);
                }

                return [[{}, typeof value === 'number' ? value : null]];
            };

            if (spec.type === 'counter') {
                this.counter(spec.name, spec.help, spec.label ? [spec.label] : [], read);
            }
            else {
                this.gauge(spec.name, spec.help, spec.label ? [spec.label] : [], read);
            }
        }
    }

    /** The Prometheus text for one snapshot of the figures. */
    async render(report: DatabaseReport, queries: QueryReport): Promise<string> {

        for (const { metric, read } of this.bound) {
            // Unknown values (no samples yet, stats query failed) are not set:
            // a labelled series is then left out, an unlabelled one reads 0
            // (prom-client's default), and na_db_stats_up says why.
            metric.reset();
            for (const [labels, value] of read(report, queries)) {
                if (value !== null && Number.isFinite(value)) {
                    setValue(metric, labels, value);
                }
            }
        }

        return await this.registry.metrics();
    }

    get contentType(): string {

        return this.registry.contentType;
    }

    private gauge(name: string, help: string, labelNames: string[], read: Bound['read']): void {

        this.bound.push({ metric: new Gauge({ name, help, labelNames, registers: [this.registry] }), read });
    }

    private counter(name: string, help: string, labelNames: string[], read: Bound['read']): void {

        this.bound.push({ metric: new Counter({ name, help, labelNames, registers: [this.registry] }), read });
    }
}

function ms(value: number | null): number | null {

    return value === null ? null : value / 1000;
}
