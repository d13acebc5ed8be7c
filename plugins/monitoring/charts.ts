// The console's "Charts" panel and the data behind it: GET /monitoring/history
// (the last hour of key figures, as columns). public/console/charts.js draws
// and refreshes them with uPlot, which the console serves from node_modules
// (never a CDN); the fragment only says which charts exist.

import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY } from '../../server/auth';
import { documented } from '../../server/openapi';
import type { ConsolePanel } from '../../server/console/panel';
import { html } from '../../server/html';
import type { MetricsHistory } from './history';
import { historySchema } from './response-schemas';

export const CHARTS_PANEL: ConsolePanel = { id: 'charts', title: 'Charts', order: 15, path: '/console/panels/charts' };

/** The charts, what each shows in one line, and which dialect has it. */
export const CHARTS = [
    { id: 'pool', title: 'Connection pool', help: 'Connections checked out, and requests waiting for one.' },
    { id: 'acquire', title: 'Connection wait (p95, ms)', help: 'How long the slowest 5 % of requests waited for a connection.' },
    { id: 'rate', title: 'Requests per second', help: 'All requests, and the busiest routes.' },
    { id: 'latency', title: 'Request time (p95, ms)', help: 'Time to answer, for the slowest 5 % of requests: all, and per busy route.' },
    { id: 'tps', title: 'Transactions per second', help: 'Commits and rollbacks in the database (PostgreSQL).', dialect: 'postgres' },
    { id: 'cache', title: 'Cache hit ratio', help: 'Share of block reads served from memory (PostgreSQL); below 0.99 on a hot library means too little memory.', dialect: 'postgres' },
    { id: 'wal', title: 'WAL size', help: 'The write-ahead log; it shrinks back after checkpoints (SQLite).', dialect: 'sqlite' },
    { id: 'busy', title: 'Busy and locked per minute', help: 'Statements that found the database busy (another writer) or a table locked; above zero means writers queue up (SQLite).', dialect: 'sqlite' },
    { id: 'slow', title: 'Slow queries per minute', help: 'Queries over SLOW_QUERY_MS.' }
] as const;

export function chartsRoutes(history: MetricsHistory): ServerRoute[] {

    return [
        {
            method: 'GET',
            path: '/monitoring/history',
            options: {
                tags: ['api', 'monitoring'],
                description: 'The last hour of pool use, acquire p95, request rate and p95 per route, tps, cache hit, slow queries, WAL size and SQLite busy/locked errors, sampled every few seconds by this instance (admin token)',
                auth: ADMIN_STRATEGY,
                plugins: documented({ responses: { 200: { description: 'Sample times and one column per series', schema: historySchema } } }),
                validate: { query: Joi.object({ minutes: Joi.number().integer().min(1).max(60).default(60).description('How far back') }) },
                handler(request: Request, h: ResponseToolkit) {

                    return h.response(history.read((request.query as { minutes: number }).minutes)).header('cache-control', 'no-store');
                }
            }
        },
        {
            method: 'GET',
            path: CHARTS_PANEL.path,
            options: {
                auth: ADMIN_STRATEGY,
                handler(request: Request, h: ResponseToolkit) {

                    const dialect = request.server.db.type;
                    const charts = CHARTS.filter((chart) => !('dialect' in chart) || chart.dialect === dialect);
                    const markup = html`<p class="muted">The last hour on this instance, sampled every 5 s (a restart starts a new hour). Drawn by uPlot.</p>
<div class="charts" data-history-src="/monitoring/history" data-dialect="${dialect}">
${charts.map((chart) => html`<figure class="chart" data-chart="${chart.id}"><figcaption><strong>${chart.title}</strong> <span class="muted">${chart.help}</span></figcaption><div class="chart-canvas"></div></figure>`)}
</div>`;
                    return h.response(markup.value).type('text/html').header('cache-control', 'no-store');
                }
            }
        },
    ];
}
