// The REST API: resources, collections, annotations, taxonomy, search, health.
// Every input is validated with Joi; every error leaves as a Boom error.

import type { Plugin, RouteOptions, ServerRoute } from '@hapi/hapi';

import type { Config } from '../../server/config';
import { withApiAuth } from '../../server/security/api-auth';
import { annotationRoutes } from './annotations';
import { collectionRoutes } from './collections';
import { healthRoutes } from './health';
import { refuseNonJsonBodies } from './json-bodies';
import { createPageGate, PAGE_CONCURRENCY } from './page-gate';
import { resourceRoutes } from './resources';
import { searchRoutes } from './search';
import { taxonomyRoutes } from './taxonomy';

/**
 * The one place that says which API routes may read from a replica: every
 * GET of the library (resources, collections, annotations, taxonomy,
 * classification codes, search and its suggestions). /health checks the
 * databases themselves. Writes always go to the primary (db-engine).
 */
const PRIMARY_ONLY_READS = new Set(['/health']);

export function withReplicaReads(routes: ServerRoute[]): ServerRoute[] {

    return routes.map((route) => {

        if (route.method !== 'GET' || PRIMARY_ONLY_READS.has(route.path)) {
            return route;
        }

        const options = (route.options ?? {}) as RouteOptions;
        return { ...route, options: { ...options, app: { ...options.app, reads: 'replica' } } };
    });
}

export interface ApiOptions {
    config: Config;
}

export const plugin: Plugin<ApiOptions> = {
    name: 'api',
    dependencies: ['db-engine', 'search'],
    register(server, { config }) {

        server.ext('onPreAuth', refuseNonJsonBodies, { sandbox: 'plugin' });
        // Never more pages at once than connections to build them (SQLite: one).
        const gate = createPageGate(Math.min(PAGE_CONCURRENCY, server.db.pool.max));
        server.ext('onPreHandler', gate.enter, { sandbox: 'plugin' });
        server.events.on('response', (request) => gate.leave(request));
        // API_AUTH decides which routes need a token (server/security/api-auth.ts).
        server.route(withApiAuth(withReplicaReads([
            ...healthRoutes,
            ...resourceRoutes,
            ...collectionRoutes,
            ...annotationRoutes,
            ...taxonomyRoutes,
            ...searchRoutes
        ]), config.auth.apiAuth));
    }
};
