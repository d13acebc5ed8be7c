// The last hour of a few key figures, for the console's charts: sampled every
// few seconds into a fixed-size ring (a few hundred KB at most), per instance.
// A request costs one map lookup and one push (its duration, for the p95 of
// its route); the sample timer does the rest off the request path.
//
// This is a per-instance statistic, not state: a restart starts a new hour.

import type { DatabaseReport } from './database-status';
import type { QueryReport } from './query-monitor';

export const HISTORY_INTERVAL_MS = 5_000;
/** One hour at the default interval. */
export const HISTORY_SIZE = 720;
/** Routes drawn per chart: the busiest ones in the window asked for. */
export const HISTORY_TOP_ROUTES = 5;
/** The console's own files are traffic, but not what the route charts are for. */
const UNCHARTED_ROUTE = /^GET \/console\/assets\//;
/** Durations kept per route and interval for the p95 (a reservoir beyond). */
const DURATIONS_PER_INTERVAL = 2_000;

/** Fixed series, in the order of the ring's columns. */
export const SERIES = {
    pool_in_use: 'Connections in use',
    pool_waiting: 'Requests waiting for a connection',
    acquire_p95_ms: 'Connection acquire p95 (ms)',
    requests_per_s: 'Requests per second',
    request_p95_ms: 'Request p95 (ms)',
    slow_queries_per_min: 'Slow queries per minute',
    transactions_per_s: 'Transactions per second (PostgreSQL)',
    cache_hit_ratio: 'Cache hit ratio (PostgreSQL)',
    wal_bytes: 'WAL size in bytes (SQLite)',
    sqlite_busy_per_min: 'Statements that met SQLITE_BUSY per minute (SQLite)',
    sqlite_locked_per_min: 'Statements that met SQLITE_LOCKED per minute (SQLite)'
} as const;

export type SeriesName = keyof typeof SERIES;

interface RouteInterval {
    count: number;
    durations: number[];
}

interface Sample {
    /** Seconds since the epoch. */
    t: number;
    values: Record<SeriesName, number | null>;
    routes: Map<string, { rate: number; p95: number }>;
}

export interface HistoryResponse {
    interval_s: number;
    /** Sample times, seconds since the epoch. */
    t: number[];
    series: Array<{ name: SeriesName; label: string; values: Array<number | null> }>;
    routes: Array<{ route: string; requests_per_s: Array<number | null>; p95_ms: Array<number | null> }>;
}

export function percentile(sorted: readonly number[], p: number): number {

    if (!sorted.length) {
        return 0;
    }

    return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

export class MetricsHistory {

    private readonly ring: Array<Sample | undefined>;
    private next = 0;
    private current = new Map<string, RouteInterval>();
    private intervalStart = Date.now();
    private lastSlowTotal: number | null = null;
    private lastBusy: number | null = null;
    private lastLocked: number | null = null;

    constructor(private readonly size = HISTORY_SIZE) {

        this.ring = new Array(size);
    }

    /** Records a finished request (from the server's 'response' event): its route and duration. */
    record(route: string, duration: number): void {

        let entry = this.current.get(route);
        if (!entry) {
            entry = { count: 0, durations: [] };
            this.current.set(route, entry);
        }

        ++entry.count;
        if (entry.durations.length < DURATIONS_PER_INTERVAL) {
            entry.durations.push(duration);
        }
        else {
            // Reservoir sampling keeps the kept durations a fair sample.
            const slot = Math.floor(Math.random() * entry.count);
            if (slot < DURATIONS_PER_INTERVAL) {
                entry.durations[slot] = duration;
            }
        }
    }

    /** Closes the current interval with the figures of the moment. */
    sample(report: DatabaseReport, queries: QueryReport, now = Date.now()): void {

        const seconds = Math.max(0.001, (now - this.intervalStart) / 1000);
        const routes = new Map<string, { rate: number; p95: number }>();
        let count = 0;
        const all: number[] = [];
        for (const [route, entry] of this.current) {
            entry.durations.sort((a, b) => a - b);
            routes.set(route, { rate: round(entry.count / seconds), p95: percentile(entry.durations, 0.95) });
            count += entry.count;
            all.push(...entry.durations);
        }

        all.sort((a, b) => a - b);
        const slow = this.lastSlowTotal === null ? null : round(((queries.slow_queries_total - this.lastSlowTotal) / seconds) * 60);
        const pg = report.postgres;
        const lite = report.sqlite;
        // Busy/locked errors are counters since start: the chart shows their rate.
        const busy = typeof lite?.busy_errors === 'number' ? lite.busy_errors : null;
        const locked = typeof lite?.locked_errors === 'number' ? lite.locked_errors : null;
        const perMinute = (total: number | null, last: number | null) => (total === null || last === null ? null : round(((total - last) / seconds) * 60));
        const values: Record<SeriesName, number | null> = {
            pool_in_use: report.pool.in_use,
            pool_waiting: report.pool.waiting,
            acquire_p95_ms: report.pool.acquire.p95_ms,
            requests_per_s: round(count / seconds),
            request_p95_ms: all.length ? percentile(all, 0.95) : null,
            slow_queries_per_min: slow,
            transactions_per_s: typeof pg?.transactions_per_second === 'number' ? pg.transactions_per_second : null,
            cache_hit_ratio: typeof pg?.cache_hit_ratio === 'number' ? pg.cache_hit_ratio : null,
            wal_bytes: typeof lite?.wal_size_bytes === 'number' ? lite.wal_size_bytes : null,
            sqlite_busy_per_min: perMinute(busy, this.lastBusy),
            sqlite_locked_per_min: perMinute(locked, this.lastLocked)
        };

        this.ring[this.next] = { t: Math.round(now / 1000), values, routes };
        this.next = (this.next + 1) % this.size;
        this.current = new Map();
        this.intervalStart = now;
        this.lastSlowTotal = queries.slow_queries_total;
        this.lastBusy = busy;
        this.lastLocked = locked;
    }

    /** The samples of the last `minutes`, oldest first, as columns. */
    read(minutes = 60, now = Date.now()): HistoryResponse {

        const since = now / 1000 - minutes * 60;
        const samples: Sample[] = [];
        for (let i = 0; i < this.size; ++i) {
            const sample = this.ring[(this.next + i) % this.size];
            if (sample && sample.t >= since) {
                samples.push(sample);
            }
        }

        const busiest = new Map<string, number>();
        for (const sample of samples) {
            for (const [route, { rate }] of sample.routes) {
                if (UNCHARTED_ROUTE.test(route)) {
                    continue;
                }

                busiest.set(route, (busiest.get(route) ?? 0) + rate);
            }
        }

        const top = [...busiest.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, HISTORY_TOP_ROUTES).map(([route]) => route);
        return {
            interval_s: HISTORY_INTERVAL_MS / 1000,
            t: samples.map((sample) => sample.t),
            series: (Object.keys(SERIES) as SeriesName[]).map((name) => ({ name, label: SERIES[name], values: samples.map((sample) => sample.values[name]) })),
            routes: top.map((route) => ({
                route,
                requests_per_s: samples.map((sample) => sample.routes.get(route)?.rate ?? 0),
                p95_ms: samples.map((sample) => sample.routes.get(route)?.p95 ?? null)
            }))
        };
    }
}

function round(value: number): number {

    return Math.round(value * 100) / 100;
}
