// PostgreSQL health from the statistics views, for this database only.

import { performance } from 'node:perf_hooks';

import type { DatabaseProbe, FigureValue, MetricSpec, ProbeContext } from './types';

// One round trip. Connection counts and the longest query leave out the
// monitoring connection itself and non-client backends (autovacuum, …).
const STATS_SQL = `
    SELECT d.blks_hit, d.blks_read, d.xact_commit + d.xact_rollback AS transactions,
           d.deadlocks, d.temp_files, d.temp_bytes,
           pg_database_size(current_database()) AS size_bytes,
           (SELECT EXTRACT(EPOCH FROM max(now() - a.query_start))::float8
              FROM pg_stat_activity a
             WHERE a.datname = current_database() AND a.state = 'active'
               AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()) AS longest_query_s,
           (SELECT coalesce(json_object_agg(s.state, s.n), '{}'::json)
              FROM (SELECT coalesce(a.state, 'unknown') AS state, count(*) AS n
                      FROM pg_stat_activity a
                     WHERE a.datname = current_database() AND a.backend_type = 'client backend'
                       AND a.pid <> pg_backend_pid()
                     GROUP BY 1) s) AS connections
      FROM pg_stat_database d
     WHERE d.datname = current_database()`;

// A rate over less than this is mostly noise.
const MIN_RATE_WINDOW_MS = 1000;
const HISTORY = 32;

// Transactions per second stay out: Prometheus computes rates itself
// (rate(na_pg_transactions_total[1m])).
const metrics: MetricSpec[] = [
    { field: 'cache_hit_ratio', name: 'na_pg_cache_hit_ratio', help: 'Share of block reads served from shared buffers (since statistics reset)', type: 'gauge' },
    { field: 'transactions_total', name: 'na_pg_transactions_total', help: 'Commits plus rollbacks in this database', type: 'counter' },
    { field: 'deadlocks', name: 'na_pg_deadlocks_total', help: 'Deadlocks detected in this database', type: 'counter' },
    { field: 'temp_files', name: 'na_pg_temp_files_total', help: 'Temporary files written by queries', type: 'counter' },
    { field: 'temp_bytes', name: 'na_pg_temp_bytes_total', help: 'Bytes written to temporary files by queries', type: 'counter' },
    { field: 'connections_by_state', name: 'na_pg_connections', help: 'Client connections to this database by state', type: 'gauge', label: 'state' },
    { field: 'longest_query_s', name: 'na_pg_longest_query_seconds', help: 'Age of the longest running query', type: 'gauge' },
    { field: 'size_bytes', name: 'na_db_size_bytes', help: 'Size of the database on disk', type: 'gauge' }
];

interface Sample {
    at: number;
    transactions: number;
}

export function createPostgresProbe(): DatabaseProbe {

    const history: Sample[] = [];

    // Transactions per second against the newest earlier sample at least
    // MIN_RATE_WINDOW_MS old: a rate between samples, not since boot.
    const rate = (now: Sample): { tps: number | null; window: number | null } => {

        let previous: Sample | undefined;
        for (let i = history.length - 1; i >= 0 && !previous; --i) {
            if (now.at - history[i]!.at >= MIN_RATE_WINDOW_MS) {
                previous = history[i];
            }
        }

        history.push(now);
        if (history.length > HISTORY) {
            history.shift();
        }

        if (!previous) {
            return { tps: null, window: null };
        }

        const seconds = (now.at - previous.at) / 1000;
        return { tps: Number(((now.transactions - previous.transactions) / seconds).toFixed(2)), window: Number(seconds.toFixed(3)) };
    };

    return {
        section: 'postgres',
        metrics,
        async collect({ statsKnex }: ProbeContext): Promise<Record<string, FigureValue>> {

            const { rows: [row] } = await statsKnex.raw(STATS_SQL);
            const reads = Number(row.blks_hit) + Number(row.blks_read);
            const transactions = Number(row.transactions);
            const { tps, window } = rate({ at: performance.now(), transactions });
            const connections: Record<string, number> = {};
            for (const [state, count] of Object.entries(row.connections ?? {})) {
                connections[state] = Number(count);
            }

            return {
                cache_hit_ratio: reads ? Number((Number(row.blks_hit) / reads).toFixed(4)) : null,
                transactions_per_second: tps,
                tps_window_s: window,
                transactions_total: transactions,
                deadlocks: Number(row.deadlocks),
                temp_files: Number(row.temp_files),
                temp_bytes: Number(row.temp_bytes),
                connections_by_state: connections,
                longest_query_s: row.longest_query_s === null ? null : Number(Number(row.longest_query_s).toFixed(3)),
                size_bytes: Number(row.size_bytes)
            };
        }
    };
}
