// GET /metrics: the monitoring figures in Prometheus text format, named after
// Prometheus' conventions (base units, `_total` on counters, checked by
// `promtool check metrics` in the tests). Each server has its own registry, so
// several servers in one process never collide.

import { Counter, Gauge, Registry, type Metric as PromMetric } from 'prom-client';

import type { ConnectionReport } from './connection-holds';
import type { DatabaseReport } from './database-status';
import type { DatabaseProbe, FigureValue } from './dialects/types';
import { PlainHistogram } from './plain-histogram';
import type { QueryReport } from './query-monitor';

type Metric = Gauge<string> | Counter<string>;

/** What the backup plugin exposes as `freshness()` (read structurally: plugins do not import each other). */
export interface BackupAges {
    newest: { age_s: number } | null;
    newest_verified: { age_s: number } | null;
    max_age_hours: number;
    verified_max_age_hours: number;
}

/** Figures that come from outside the pool and query monitors, when their plugin is on. */
export interface MetricExtras {
    connections: ConnectionReport;
    backups: BackupAges | null;
}

interface Bound {
    metric: Metric;
    read(report: DatabaseReport, queries: QueryReport, extras: MetricExtras): Array<[Record<string, string>, number | null]>;
}

const BACKGROUND = '(background)';

// From a free connection handed over at once to a wait close to the default
// acquire timeout (10 s).
const ACQUIRE_BUCKETS_S = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10];

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
    // Fed as connections are handed out, not from the snapshot: a histogram
    // counts every acquire since start, so Prometheus can take quantiles over
    // any range and across instances.
    private readonly acquire = new PlainHistogram('na_db_pool_acquire_duration_seconds', 'Time requests waited for a pool connection', ACQUIRE_BUCKETS_S);
    private readonly requests = new PlainHistogram('na_http_request_duration_seconds', 'Time to answer a request, by route',
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], 'route');

    constructor(probe: DatabaseProbe, instanceName: string) {

        // Plain numbers on the request path; prom-client only prints them.
        this.registry.registerMetric(this.acquire as unknown as PromMetric);
        this.registry.registerMetric(this.requests as unknown as PromMetric);

        const pool = (field: keyof DatabaseReport['pool'], name: string, help: string, scale = 1) => {

            this.gauge(name, help, [], (report) => [[{}, (report.pool[field] as number) * scale]]);
        };

        // Prometheus adds `instance` (the scraped address) itself: the app's
        // own name for itself is an info metric to join on, not a label on
        // every series (Prometheus' guidance on target labels).
        this.gauge('na_instance_info', 'This app instance: INSTANCE_NAME, else host:port (value 1)', ['app_instance'],
            () => [[{ app_instance: instanceName }, 1]]);
        this.gauge('na_db_info', 'Database dialect and server version (value 1)', ['dialect', 'version'],
            (report) => [[{ dialect: report.database_type, version: report.version ?? 'unknown' }, 1]]);
        this.gauge('na_db_stats_up', '1 when the database answered the statistics query, else 0', [],
            (report) => [[{}, report.stats_error ? 0 : 1]]);
        pool('min', 'na_db_pool_min_connections', 'Connections the pool keeps open (DB_POOL_MIN)');
        pool('max', 'na_db_pool_max_connections', 'Most connections the pool may open (DB_POOL_MAX)');
        this.gauge('na_db_pool_connections', 'Open pool connections by state (in_use + idle = open)', ['state'], (report) => [
            [{ state: 'in_use' }, report.pool.in_use],
            [{ state: 'idle' }, report.pool.free]
        ]);
        pool('overflow_in_use', 'na_db_pool_overflow_connections', 'Connections checked out beyond the kept base (DB_POOL_MIN)');
        pool('pending_creates', 'na_db_pool_pending_connections', 'Connections being opened');
        pool('waiting', 'na_db_pool_waiting_requests', 'Requests waiting for a connection');
        pool('utilization_percent', 'na_db_pool_utilization_ratio', 'Connections in use as a fraction of the most the pool may open', 0.01);
        this.counter('na_db_pool_acquire_timeouts_total', 'Requests that got no connection within DB_ACQUIRE_TIMEOUT_MS', [],
            (report) => [[{}, report.pool.acquire_timeouts]]);
        this.counter('na_db_pool_create_failures_total', 'Failed attempts to open a connection', [],
            (report) => [[{}, report.pool.create_failures]]);
        this.counter('na_db_pool_closed_connections_total', 'Connections closed by the pool, by reason (dead, recycled, idle)', ['reason'],
            (report) => Object.entries(report.pool.destroyed).map(([reason, count]) => [{ reason }, count]));

        // One series per read replica, by its redacted URL (DATABASE_REPLICA_URLS).
        const replicas = (report: DatabaseReport) => report.replicas ?? [];
        this.gauge('na_db_replica_info', 'Each read replica with its role and rotation state (value 1)', ['replica', 'role', 'state'],
            (report) => replicas(report).map((replica) => [{ replica: replica.target, role: replica.role, state: replica.state }, 1]));
        this.gauge('na_db_replica_in_rotation', '1 while the replica serves reads, else 0 (lagging, unreachable or not a standby)', ['replica'],
            (report) => replicas(report).map((replica) => [{ replica: replica.target }, replica.in_rotation ? 1 : 0]));
        this.gauge('na_db_replica_lag_bytes', 'WAL the replica has still to replay, in bytes', ['replica'],
            (report) => replicas(report).map((replica) => [{ replica: replica.target }, replica.lag_bytes]));
        this.gauge('na_db_replica_lag_seconds', 'How stale the replica\'s data may be (0: it replayed everything the primary wrote)', ['replica'],
            (report) => replicas(report).map((replica) => [{ replica: replica.target }, replica.lag_seconds]));
        this.counter('na_db_replica_reads_total', 'Reads routed to the replica', ['replica'],
            (report) => replicas(report).map((replica) => [{ replica: replica.target }, replica.reads]));
        this.counter('na_db_replica_fallbacks_total', 'Reads the replica failed that the primary answered instead', ['replica'],
            (report) => replicas(report).map((replica) => [{ replica: replica.target }, replica.fallbacks]));

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

        // Which route holds the pool's connections: what no database-side tool can tell.
        this.gauge('na_db_pool_route_connections', 'Pool connections checked out right now, by the route holding them', ['route'],
            (_report, _queries, { connections }) => connections.held_now.map((entry) => [{ route: entry.route }, entry.connections]));
        this.gauge('na_db_pool_route_longest_hold_seconds', 'Longest current hold of a pool connection, by route', ['route'],
            (_report, _queries, { connections }) => connections.held_now.map((entry) => [{ route: entry.route }, entry.longest_hold_ms / 1000]));
        const perRoute = (name: string, help: string, field: 'acquires' | 'acquire_wait_total_ms' | 'hold_total_ms' | 'idle_in_transaction_total_ms', scale: number) => this.counter(name, help, ['route'],
            (_report, _queries, { connections }) => connections.routes.map((row) => [{ route: row.route }, row[field] * scale]));
        perRoute('na_db_pool_route_checkouts_total', 'Pool connections checked out, by route', 'acquires', 1);
        perRoute('na_db_pool_route_acquire_wait_seconds_total', 'Time spent waiting for a pool connection, by route', 'acquire_wait_total_ms', 0.001);
        perRoute('na_db_pool_route_hold_seconds_total', 'Time pool connections were held, by route', 'hold_total_ms', 0.001);
        // Backup freshness (left out when the backup plugin is off; no backup yet: the age is absent).
        // No backup yet is an infinite age, so an alert on age > threshold fires.
        const age = (backup: { age_s: number } | null | undefined, backups: BackupAges | null) => (backups ? backup?.age_s ?? Infinity : null);
        this.gauge('na_backup_newest_age_seconds', 'Age of the newest backup (+Inf: none)', [],
            (_report, _queries, { backups }) => [[{}, age(backups?.newest, backups)]]);
        this.gauge('na_backup_newest_verified_age_seconds', 'Age of the newest backup whose verification passed (+Inf: none)', [],
            (_report, _queries, { backups }) => [[{}, age(backups?.newest_verified, backups)]]);
        this.gauge('na_backup_max_age_seconds', 'BACKUP_MAX_AGE_HOURS in seconds (0: no threshold)', [],
            (_report, _queries, { backups }) => [[{}, backups ? backups.max_age_hours * 3600 : null]]);
        this.gauge('na_backup_verified_max_age_seconds', 'BACKUP_VERIFIED_MAX_AGE_HOURS in seconds (0: no threshold)', [],
            (_report, _queries, { backups }) => [[{}, backups ? backups.verified_max_age_hours * 3600 : null]]);
        perRoute('na_db_route_idle_in_transaction_seconds_total', 'Time a route kept its connection idle between statements (idle in transaction)', 'idle_in_transaction_total_ms', 0.001);

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

    /** Records one answered request. */
    observeRequest(route: string, ms: number): void {

        this.requests.observe(ms / 1000, route);
    }

    /** Records one connection handed out by the pool after waiting this long. */
    observeAcquire(ms: number): void {

        this.acquire.observe(ms / 1000);
    }

    /** The Prometheus text for one snapshot of the figures. */
    async render(report: DatabaseReport, queries: QueryReport, extras: MetricExtras = { connections: { held_now: [], routes: [] }, backups: null }): Promise<string> {

        for (const { metric, read } of this.bound) {
            // Unknown values (no samples yet, stats query failed) are not set:
            // a labelled series is then left out, an unlabelled one reads 0
            // (prom-client's default), and na_db_stats_up says why.
            metric.reset();
            for (const [labels, value] of read(report, queries, extras)) {
                if (value !== null && !Number.isNaN(value)) {
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
