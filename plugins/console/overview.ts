// The Overview panel: which database this server runs on and whether it is
// healthy. The same figures are served as JSON at GET /ops/overview.

import type { Request, ServerRoute } from '@hapi/hapi';

import { ADMIN_STRATEGY } from '../../server/auth';
import { formatBytes, formatDuration, formatMilliseconds, formatTimestamp } from '../../server/console/format';
import { alert, badge, facts } from '../../server/console/fragments';
import type { ConsolePanel } from '../../server/console/panel';
import { redactSecrets } from '../../server/db/url';
import { html, type Html } from '../../server/html';
import { documented } from '../../server/openapi';
import { overviewSchema } from './response-schemas';

export const OVERVIEW_PANEL: ConsolePanel = { id: 'overview', title: 'Overview', order: 0, path: '/console/panels/overview', refreshSeconds: 10 };

export interface OverviewHealth {
    status: 'ok' | 'degraded';
    /** Round trip of SELECT 1, when it succeeded. */
    latency_ms: number | null;
    /** Why the database is degraded (credentials removed). */
    error: string | null;
}

export interface Overview {
    dialect: string;
    version: string | null;
    /** Connection target with credentials removed. */
    target: string;
    started_at: string;
    uptime_s: number;
    health: OverviewHealth;
    database_size_bytes: number | null;
    pool: { min: number; max: number };
    search_engine: string | null;
    node_version: string;
    env: string;
}

async function attempt<T>(work: () => Promise<T>): Promise<{ value: T | null; error: string | null }> {

    try {
        return { value: await work(), error: null };
    }
    catch (error) {
        return { value: null, error: redactSecrets((error as Error)?.message ?? String(error)) };
    }
}

export async function readOverview(request: Request): Promise<Overview> {

    const { server } = request;
    const { db, knex } = server;

    const started = process.hrtime.bigint();
    const ping = await attempt(() => knex.raw('SELECT 1'));
    const latency = ping.error ? null : Number(process.hrtime.bigint() - started) / 1e6;
    const [version, size] = await Promise.all([
        attempt(() => db.dialect.serverVersion(knex)),
        attempt(() => db.dialect.databaseSize(knex))
    ]);

    // Before server.start() (tests use initialize()), uptime counts from process start.
    const startedAt = server.info.started || Date.now() - Math.round(process.uptime() * 1000);
    const hasSearch = server.decorations.server.includes('search');

    return {
        dialect: db.type,
        version: version.value,
        target: db.target,
        started_at: new Date(startedAt).toISOString(),
        uptime_s: Math.max(0, Math.round((Date.now() - startedAt) / 1000)),
        health: { status: ping.error ? 'degraded' : 'ok', latency_ms: latency, error: ping.error },
        database_size_bytes: size.value,
        pool: { min: db.pool.min, max: db.pool.max },
        search_engine: hasSearch ? server.search.engine : null,
        node_version: process.version,
        env: server.config.env
    };
}

export function overviewFragment(overview: Overview): Html {

    const health = overview.health.status === 'ok'
        ? html`${badge('healthy', 'ok')} <span class="muted">SELECT 1 in ${formatMilliseconds(overview.health.latency_ms)}</span>`
        : badge('degraded', 'error');

    return html`${overview.health.error ? alert('error', html`The database did not answer: ${overview.health.error}`) : null}
${facts([
        ['Health', health],
        ['Dialect', overview.dialect],
        ['Version', overview.version ?? '—'],
        ['Target', html`<code>${overview.target}</code>`],
        ['Database size', formatBytes(overview.database_size_bytes)],
        ['Uptime', html`${formatDuration(overview.uptime_s)} <span class="muted">since ${formatTimestamp(overview.started_at)}</span>`],
        ['Pool', `${overview.pool.min}–${overview.pool.max} connections`],
        ['Full-text search', overview.search_engine ?? 'unavailable'],
        ['Environment', overview.env],
        ['Node.js', overview.node_version]
    ])}`;
}

export const overviewRoutes: ServerRoute[] = [
    {
        method: 'GET',
        path: OVERVIEW_PANEL.path,
        options: {
            auth: ADMIN_STRATEGY,
            async handler(request, h) {

                return h.response(overviewFragment(await readOverview(request)).value).type('text/html');
            }
        }
    },
    {
        method: 'GET',
        path: '/ops/overview',
        options: {
            auth: ADMIN_STRATEGY,
            tags: ['api', 'ops'],
            description: 'Dialect, version, redacted target, uptime, health and size of the database (the console Overview panel as JSON)',
            plugins: documented({
                responses: {
                    200: { description: 'The database is healthy', schema: overviewSchema },
                    503: { description: 'The database is degraded (health.error says why)', schema: overviewSchema }
                }
            }),
            async handler(request, h) {

                const overview = await readOverview(request);
                return h.response(overview).code(overview.health.status === 'ok' ? 200 : 503);
            }
        }
    }
];
