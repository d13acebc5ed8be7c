// Console panels: "Pool" (refreshed every 2 s) and "Queries". Each is an HTML
// fragment route under /console/panels/<id>; every value goes through html``
// so SQL text and route names are escaped.

import type { Request, ServerRoute } from '@hapi/hapi';

import { ADMIN_STRATEGY } from '../../server/auth';
import type { ConsolePanel } from '../../server/console/panel';
import { html, type Html } from '../../server/html';
import type { DatabaseReport, DatabaseStatus } from './database-status';
import type { QueryMonitor, QueryReport } from './query-monitor';

export const POOL_PANEL: ConsolePanel = { id: 'pool', title: 'Pool', order: 20, path: '/console/panels/pool', refreshSeconds: 2 };
export const QUERIES_PANEL: ConsolePanel = { id: 'queries', title: 'Queries', order: 30, path: '/console/panels/queries', refreshSeconds: 10 };

const figure = (value: number | string | null | undefined, unit = '') => (value === null || value === undefined ? '–' : `${value}${unit}`);

function row(label: string, value: unknown): Html {

    return html`<tr><th scope="row">${label}</th><td>${value}</td></tr>`;
}

export function renderPoolPanel(report: DatabaseReport): Html {

    const { pool } = report;
    const utilization = Math.min(100, Math.max(0, pool.utilization_percent));
    const pg = report.postgres;
    const lite = report.sqlite;
    return html`<section class="panel panel-pool" aria-labelledby="pool-title">
<h2 id="pool-title">Connection pool <small>${report.database_type} · ${report.version ?? ''} · ${report.target}</small></h2>
<div class="bar" role="meter" aria-label="Pool utilization" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${utilization}">
<div class="bar-fill${utilization > 90 ? ' bar-hot' : ''}" style="width: ${utilization}%"></div>
<span class="bar-label">${pool.utilization_percent} % in use</span>
</div>
<table class="figures">
${row('In use', pool.in_use)}${row('Free', pool.free)}${row('Waiting', pool.waiting)}
${row('Overflow in use', pool.overflow_in_use)}${row('Open / min / max', `${pool.open} / ${pool.min} / ${pool.max}`)}
${row('Acquire p50 / p95', `${figure(pool.acquire.p50_ms, ' ms')} / ${figure(pool.acquire.p95_ms, ' ms')} (last ${pool.acquire.window_s} s, ${pool.acquire.samples} samples)`)}
${row('Acquire timeouts', pool.acquire_timeouts)}
${row('Destroyed: dead / recycled / idle', `${pool.destroyed.dead} / ${pool.destroyed.recycled} / ${pool.destroyed.idle}`)}
${pg ? [
        row('Cache hit ratio', pg.cache_hit_ratio === null ? '–' : `${((pg.cache_hit_ratio as number) * 100).toFixed(2)} %`),
        row('Transactions / s', figure(pg.transactions_per_second as number | null)),
        row('Longest running query', figure(pg.longest_query_s as number | null, ' s')),
        row('Deadlocks', pg.deadlocks)
    ] : ''}
${lite ? [
        row('Journal mode', lite.journal_mode),
        row('File / WAL size', `${lite.size_bytes} B / ${lite.wal_size_bytes} B`),
        row('Busy / locked errors', `${lite.busy_errors} / ${lite.locked_errors}`)
    ] : ''}
</table>
${report.stats_error ? html`<p class="error" role="alert">${report.stats_error}</p>` : ''}
</section>`;
}

export function renderQueriesPanel(report: QueryReport): Html {

    const slow = report.slow_queries.slice(0, 20);
    return html`<section class="panel panel-queries" aria-labelledby="queries-title">
<h2 id="queries-title">Queries</h2>
<h3>Slow queries (over ${report.slow_query_ms} ms; ${report.slow_queries_total} in total)</h3>
${slow.length ? html`<table class="slow-queries">
<thead><tr><th>When</th><th>Duration</th><th>Route</th><th>SQL</th></tr></thead>
<tbody>${slow.map((entry) => html`<tr${entry.failed ? html` class="failed"` : ''}><td>${entry.at}</td><td>${entry.duration_ms} ms</td><td>${entry.route ?? 'background'}</td><td><code>${entry.sql}</code></td></tr>`)}</tbody>
</table>` : html`<p>No slow queries.</p>`}
<h3>Per route (N+1 threshold: more than ${report.n_plus_one_threshold} queries in one request)</h3>
<table class="routes">
<thead><tr><th>Route</th><th>Requests</th><th>Queries</th><th>Queries / request</th><th>Total ms</th><th>Max ms</th><th>N+1</th></tr></thead>
<tbody>${report.routes.map((route) => html`<tr><td>${route.route}</td><td>${route.requests}</td><td>${route.queries}</td><td>${route.queries_per_request}</td><td>${route.total_query_ms}</td><td>${route.max_query_ms}</td><td>${route.suspected_n_plus_one ? `suspected (${route.n_plus_one_requests} requests, up to ${route.max_queries_per_request} queries)` : 'no'}</td></tr>`)}</tbody>
</table>
<p>Background (no request): ${report.background.queries} queries, ${report.background.total_query_ms} ms.</p>
</section>`;
}

export function panelRoutes(status: DatabaseStatus, queries: QueryMonitor): ServerRoute[] {

    return [
        {
            method: 'GET',
            path: POOL_PANEL.path,
            options: {
                auth: ADMIN_STRATEGY,
                async handler(_request: Request, h) {

                    return h.response(renderPoolPanel(await status.report()).value).type('text/html').header('cache-control', 'no-store');
                }
            }
        },
        {
            method: 'GET',
            path: QUERIES_PANEL.path,
            options: {
                auth: ADMIN_STRATEGY,
                handler(_request: Request, h) {

                    return h.response(renderQueriesPanel(queries.report()).value).type('text/html').header('cache-control', 'no-store');
                }
            }
        }
    ];
}
