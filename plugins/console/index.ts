// The ops console: an htmx shell under /console whose panels are contributed
// by plugins (server/console/panel.ts). It owns login/logout, the Overview and
// Search tryout panels, and how every /console response is secured and
// rendered. Without an admin token it only explains how to enable itself.

import Path from 'node:path';
import Boom from '@hapi/boom';
import type { Lifecycle, Plugin, Server, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_DISABLED_MESSAGE, ADMIN_STRATEGY } from '../../server/auth';
import type { Config } from '../../server/config';
import { CONSOLE_PANELS, type ConsolePanel } from '../../server/console/panel';
import { API_TOKENS_PANEL, apiTokenRoutes } from './api-tokens';
import { OVERVIEW_PANEL, overviewRoutes } from './overview';
import { ASSETS_PATH, errorPage, shellPage, type PageContext } from './pages';
import { collectPanels } from './panels';
import { consoleResponses } from './responses';
import { SEARCH_PANEL, searchTryoutRoutes } from './search-tryout';
import { sessionRoutes } from './session-routes';

export { collectPanels, PanelContractError } from './panels';

export interface ConsoleOptions {
    config: Config;
}

/** What the console exposes to the rest of the server (and tests). */
export interface ConsoleApi {
    /** The collected panels, in navigation order (empty before the server starts). */
    panels(): readonly ConsolePanel[];
}

function assetRoutes(rootDir: string): ServerRoute[] {

    const cache = { privacy: 'private' as const, expiresIn: 60 * 60 * 1000 };
    // Libraries from node_modules, never a CDN: htmx, and uPlot for the charts.
    const vendor = (path: string, module: string): ServerRoute => ({
        method: 'GET',
        path: `${ASSETS_PATH}/${path}`,
        options: { auth: false as const, cache, handler: { file: { path: require.resolve(module, { paths: [rootDir] }), confine: false } } }
    });

    return [
        vendor('htmx.min.js', 'htmx.org/dist/htmx.min.js'),
        vendor('uplot/uPlot.iife.min.js', 'uplot/dist/uPlot.iife.min.js'),
        vendor('uplot/uPlot.min.css', 'uplot/dist/uPlot.min.css'),
        {
            method: 'GET',
            path: `${ASSETS_PATH}/{file}`,
            options: {
                auth: false,
                cache,
                validate: { params: Joi.object({ file: Joi.string().pattern(/^[a-z0-9-]+\.(?:css|js|svg)$/).required() }) },
                handler: { directory: { path: Path.join(rootDir, 'public', 'console'), listing: false, index: false } }
            }
        }
    ];
}

function disabledRoutes(context: PageContext): ServerRoute[] {

    const page = errorPage({ context, statusCode: 403, title: 'Console disabled', message: ADMIN_DISABLED_MESSAGE, links: false });
    const handler: Lifecycle.Method = (_request, h) => h.response(page.value).code(403).type('text/html');

    return [
        { method: 'GET', path: '/console', options: { auth: false, handler } },
        { method: '*', path: '/console/{path*}', options: { auth: false, handler } }
    ];
}

function shellRoutes(context: PageContext, panels: () => readonly ConsolePanel[]): ServerRoute[] {

    const render = (id: string | undefined) => {

        const all = panels();
        const active = id === undefined ? all[0] : all.find((panel) => panel.id === id);
        if (!active) {
            throw Boom.notFound(id === undefined ? 'No console panels are loaded' : `There is no console panel "${id}"`);
        }

        return { all, active };
    };

    return [
        {
            method: 'GET',
            path: '/console',
            options: {
                auth: ADMIN_STRATEGY,
                plugins: { crumb: true },
                handler(request, h) {

                    const { all, active } = render(undefined);
                    return h.response(shellPage({ context, panels: all, active, csrfToken: request.plugins.crumb }).value).type('text/html');
                }
            }
        },
        {
            method: 'GET',
            path: '/console/{panel}',
            options: {
                auth: ADMIN_STRATEGY,
                plugins: { crumb: true },
                validate: { params: Joi.object({ panel: Joi.string().pattern(/^[a-z][a-z0-9-]{0,39}$/).required() }) },
                handler(request, h) {

                    const { all, active } = render(String(request.params.panel));
                    return h.response(shellPage({ context, panels: all, active, csrfToken: request.plugins.crumb }).value).type('text/html');
                }
            }
        }
    ];
}

export const plugin: Plugin<ConsoleOptions> = {
    name: 'console',
    dependencies: ['db-engine', 'core', 'admin-auth', 'csrf', 'search', '@hapi/inert'],
    register(server: Server, { config }) {

        const context: PageContext = { env: config.env, dialect: config.database.type };

        server.ext('onPreResponse', consoleResponses(context));
        server.route(assetRoutes(config.rootDir));

        if (!server.adminTokenConfigured()) {
            server.route(disabledRoutes(context));
            const api: ConsoleApi = { panels: () => [] };
            server.expose('panels', api.panels);
            return;
        }

        let panels: ConsolePanel[] = [];
        // Every plugin has registered by now; collecting here lets them load in any order.
        server.ext('onPreStart', () => {

            panels = collectPanels(server);
        });

        server.route([
            ...sessionRoutes(context),
            ...shellRoutes(context, () => panels),
            ...overviewRoutes,
            ...searchTryoutRoutes,
            ...apiTokenRoutes
        ]);

        server.expose(CONSOLE_PANELS, [OVERVIEW_PANEL, SEARCH_PANEL, API_TOKENS_PANEL]);
        const api: ConsoleApi = { panels: () => panels };
        server.expose('panels', api.panels);
    }
};
