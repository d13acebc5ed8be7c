// Console panels: "Pool" (refreshed every 2 s) and "Queries". Each is an HTML
// fragment route under /console/panels/<id>, built from the console's shared
// fragments and formatters; every value goes through html`` so SQL text and
// route names are escaped. No inline styles (the console's CSP): the
// utilization bar is a <meter>.

import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';

import { ADMIN_STRATEGY } from '../../server/auth';
import { formatBytes, formatDuration, formatMilliseconds, formatNumber, formatPercent, formatTimestamp } from '../../server/console/format';
import { alert, badge, facts, type Fact } from '../../server/console/fragments';
import type { ConsolePanel } from '../../server/console/panel';
import { html, type Html } from '../../server/html';
import type { ConnectionHolds, ConnectionReport } from './connection-holds';
import type { DatabaseReport, DatabaseStatus, ReplicaReport } from './database-status';
import type { QueryMonitor, QueryReport } from './query-monitor';

export const POOL_PANEL: ConsolePanel = { id: 'pool', title: 'Pool', order: 10, path: '/console/panels/pool', refreshSeconds: 2 };
export const QUERIES_PANEL: ConsolePanel = { id: 'queries', title: 'Queries', order: 20, path: '/console/panels/queries', refreshSeconds: 10 };

const num = (value: unknown) => (typeof value === 'number' ? value : null);

/** Which routes hold connections: what no database tool can tell. */
export function renderConnectionsByRoute(report: ConnectionReport): Html {

    return html`<h3>Connections by route</h3>
<p class="muted">Held now: ${report.held_now.length ? report.held_now.map((entry, i) => html`${i ? ', ' : ''}${entry.route} × ${entry.connections} (longest ${formatMilliseconds(entry.longest_hold_ms)})`) : 'none'}.</p>
${report.routes.length ? html`<table class="data">
<thead><tr><th>Route</th><th>Checkouts</th><th>Wait for a connection (mean / max)</th><th>Held (total / max)</th><th>Idle in transaction (total / max)</th></tr></thead>
<tbody>${report.routes.slice(0, 20).map((row) => html`<tr><td>${row.route}</td><td class="num">${formatNumber(row.acquires)}</td><td class="num">${formatMilliseconds(row.acquire_wait_mean_ms)} / ${formatMilliseconds(row.acquire_wait_max_ms)}</td><td class="num">${formatMilliseconds(row.hold_total_ms)} / ${formatMilliseconds(row.hold_max_ms)}</td><td class="num">${formatMilliseconds(row.idle_in_transaction_total_ms)} / ${formatMilliseconds(row.idle_in_transaction_max_ms)}${row.idle_in_transaction_max_ms > 1000 ? html` ${badge('kept a transaction open over 1 s', 'warn')}` : ''}</td></tr>`)}</tbody>
</table>` : ''}
<p class="muted">Idle in transaction: time a route kept its connection between statements (inside a transaction, the database sees it as idle in transaction, holding its locks).</p>`;
}

const REPLICA_BADGES: Record<ReplicaReport['state'], 'ok' | 'warn' | 'error'> = {
    'in-rotation': 'ok',
    starting: 'warn',
    lagging: 'warn',
    unreachable: 'error',
    'not-a-standby': 'error'
};

/** The read replicas: role, rotation state and lag of each (targets redacted). */
function renderReplicas(replicas: readonly ReplicaReport[]): Html {

    return html`<h3>Read replicas</h3>
<table class="data">
<thead><tr><th>Replica</th><th>Role</th><th>State</th><th class="num">Lag (bytes)</th><th class="num">Lag</th><th class="num">Reads</th><th>Sampled</th></tr></thead>
<tbody>${replicas.map((replica) => html`<tr><td><code>${replica.target}</code></td><td>${replica.role}</td><td>${badge(replica.state, REPLICA_BADGES[replica.state])}${replica.error ? html` <span class="detail">${replica.error}</span>` : ''}</td><td class="num">${replica.lag_bytes === null ? '—' : formatBytes(replica.lag_bytes)}</td><td class="num">${replica.lag_seconds === null ? '—' : formatMilliseconds(replica.lag_seconds * 1000)}</td><td class="num">${formatNumber(replica.reads)}</td><td>${replica.sampled_at ? formatTimestamp(replica.sampled_at) : '—'}</td></tr>`)}</tbody>
</table>`;
}

export function renderPoolPanel(report: DatabaseReport, connections?: ConnectionReport): Html {

    const { pool } = report;
    const utilization = Math.min(100, Math.max(0, pool.utilization_percent));
    const rows: Fact[] = [
        ['In use', formatNumber(pool.in_use)],
        ['Free', formatNumber(pool.free)],
        ['Waiting', formatNumber(pool.waiting)],
        ['Overflow in use', formatNumber(pool.overflow_in_use)],
        ['Open / min / max', `${pool.open} / ${pool.min} / ${pool.max}`],
        ['Acquire p50 / p95', `${formatMilliseconds(pool.acquire.p50_ms)} / ${formatMilliseconds(pool.acquire.p95_ms)} (last ${pool.acquire.window_s} s, ${pool.acquire.samples} samples)`],
        ['Acquire timeouts', formatNumber(pool.acquire_timeouts)],
        ['Destroyed: dead / recycled / idle', `${pool.destroyed.dead} / ${pool.destroyed.recycled} / ${pool.destroyed.idle}`]
    ];

    const pg = report.postgres;
    if (pg) {
        rows.push(
            ['Cache hit ratio', formatPercent(num(pg.cache_hit_ratio), 2)],
            ['Transactions / s', pg.transactions_per_second === null ? '— (next refresh)' : formatNumber(num(pg.transactions_per_second))],
            ['Longest running query', pg.longest_query_s === null ? 'none running' : formatDuration(num(pg.longest_query_s))],
            ['Deadlocks', formatNumber(num(pg.deadlocks))],
            ['Database size', formatBytes(num(pg.size_bytes))]
        );
    }

    const lite = report.sqlite;
    if (lite) {
        rows.push(
            ['Journal mode', lite.journal_mode],
            ['Database size', html`${formatBytes(num(lite.size_bytes))} <span class="detail">file ${formatBytes(num(lite.file_size_bytes))} + WAL ${formatBytes(num(lite.wal_size_bytes))} + shm ${formatBytes(num(lite.shm_size_bytes))}</span>`],
            ['Busy / locked errors', `${lite.busy_errors} / ${lite.locked_errors}`]
        );
    }

    return html`<p>${report.database_type} · ${report.version ?? 'version unknown'} · <code>${report.target}</code></p>
<p><meter min="0" max="100" low="70" high="90" optimum="0" value="${utilization}" aria-label="Pool utilization">${utilization} %</meter>
${formatPercent(pool.utilization_percent / 100)} in use ${utilization > 90 ? badge('over 90 %', 'warn') : ''}</p>
${facts(rows)}
${report.stats_error ? alert('warning', report.stats_error) : ''}
${report.replicas?.length ? renderReplicas(report.replicas) : ''}
${connections ? renderConnectionsByRoute(connections) : ''}`;
}

export function renderQueriesPanel(report: QueryReport): Html {

    const slow = report.slow_queries.slice(0, 20);
    return html`<h3>Slow queries (over ${formatMilliseconds(report.slow_query_ms)}; ${formatNumber(report.slow_queries_total)} in total)</h3>
${slow.length ? html`<table class="data">
<thead><tr><th>When</th><th class="num">Duration</th><th>Route</th><th>SQL</th></tr></thead>
<tbody>${slow.map((entry) => html`<tr><td>${formatTimestamp(entry.at)}</td><td class="num">${formatMilliseconds(entry.duration_ms)}</td><td>${entry.route ?? html`<span class="muted">background</span>`}</td><td><code class="sql">${entry.sql}</code>${entry.failed ? html` ${badge('failed', 'error')}` : ''}</td></tr>`)}</tbody>
</table>` : html`<p class="muted">No slow queries.</p>`}
<h3>Per route</h3>
${report.attribution ? '' : alert('info', 'QUERY_ATTRIBUTION is off: requests are counted per route, queries only in total.')}
<table class="data">
<thead><tr><th>Route</th><th class="num">Requests</th><th class="num">Queries</th><th class="num">Queries / request</th><th class="num">Total</th><th class="num">Slowest</th><th>N+1 (over ${report.n_plus_one_threshold} per request)</th></tr></thead>
<tbody>${report.routes.map((route) => html`<tr><td>${route.route}</td><td class="num">${formatNumber(route.requests)}</td><td class="num">${formatNumber(route.queries)}</td><td class="num">${route.queries_per_request}</td><td class="num">${formatMilliseconds(route.total_query_ms)}</td><td class="num">${formatMilliseconds(route.max_query_ms)}</td><td>${route.suspected_n_plus_one ? badge(`suspected: ${route.n_plus_one_requests} requests, up to ${route.max_queries_per_request} queries`, 'warn') : badge('no', 'ok')}</td></tr>`)}</tbody>
</table>
<p class="muted">Background (no request): ${formatNumber(report.background.queries)} queries, ${formatMilliseconds(report.background.total_query_ms)}.</p>`;
}

function fragment(h: ResponseToolkit, markup: Html) {

    return h.response(markup.value).type('text/html').header('cache-control', 'no-store');
}

export function panelRoutes(status: DatabaseStatus, queries: QueryMonitor, holds: ConnectionHolds): ServerRoute[] {

    return [
        {
            method: 'GET',
            path: POOL_PANEL.path,
            options: {
                auth: ADMIN_STRATEGY,
                async handler(_request: Request, h: ResponseToolkit) {

                    return fragment(h, renderPoolPanel(await status.report(), holds.report()));
                }
            }
        },
        {
            method: 'GET',
            path: QUERIES_PANEL.path,
            options: {
                auth: ADMIN_STRATEGY,
                handler(_request: Request, h: ResponseToolkit) {

                    return fragment(h, renderQueriesPanel(queries.report()));
                }
            }
        }
    ];
}
