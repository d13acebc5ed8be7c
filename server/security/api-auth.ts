// API_AUTH for the data API: which routes need a token (`writes`: every
// method but GET/HEAD; `all`: every route), and the OpenAPI security
// requirement that follows from the same decision, so the documentation
// cannot disagree with what the server enforces (server/openapi/security.ts
// reads the same auth config). Routes that set their own
// `auth` (GET /health: `false`, for load balancers) keep it.

import type { RouteOptions, ServerRoute } from '@hapi/hapi';

import { API_STRATEGY } from '../auth';
import type { ApiAuthMode } from '../config';

const READ_METHODS = new Set(['get', 'head']);

export function routeNeedsToken(method: string, mode: ApiAuthMode): boolean {

    return mode === 'all' || (mode === 'writes' && !READ_METHODS.has(method.toLowerCase()));
}

/** The routes with `auth` (and their OpenAPI security) set for the mode. */
export function withApiAuth(routes: ServerRoute[], mode: ApiAuthMode): ServerRoute[] {

    if (mode === 'off') {
        return routes;
    }

    return routes.map((route) => {

        const options = (route.options ?? {}) as RouteOptions;
        if (options.auth !== undefined) {
            return route;
        }

        // The OpenAPI document derives each route's security from this auth (server/openapi/security.ts).
        const methods = ([] as string[]).concat(route.method as string | string[]);
        const protect = methods.some((method) => routeNeedsToken(method, mode));
        return { ...route, options: { ...options, auth: protect ? API_STRATEGY : false } } as ServerRoute;
    });
}
