// API_AUTH for the data API: which routes need a token (`writes`: every
// method but GET/HEAD; `all`: every route), and the OpenAPI security
// requirement that follows from the same decision, so the documentation
// cannot disagree with what the server enforces. Routes that set their own
// `auth` (GET /health: `false`, for load balancers) keep it.

import type { ServerRoute } from '@hapi/hapi';

import { API_STRATEGY } from '../auth';
import type { ApiAuthMode } from '../config';

/** The OpenAPI security scheme the protected data routes name. */
export const API_TOKEN_SCHEME = 'apiToken';

/** Security schemes for the OpenAPI document (hapi-swagger's Swagger 2 form: an API key in the Authorization header). */
export const API_SECURITY_DEFINITIONS = {
    [API_TOKEN_SCHEME]: {
        type: 'apiKey',
        name: 'Authorization',
        in: 'header',
        description: 'Send "Authorization: Bearer <API token>" (an API token from `npm run api-tokens -- create <name>` or the console, or ADMIN_TOKEN). Required for writes when API_AUTH=writes, for every data route when API_AUTH=all.'
    }
};

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

        const options = (route.options ?? {}) as Exclude<ServerRoute['options'], Function | undefined>;
        if (options.auth !== undefined) {
            return route;
        }

        const methods = ([] as string[]).concat(route.method as string | string[]);
        const protect = methods.some((method) => routeNeedsToken(method, mode));
        const plugins = options.plugins as Record<string, Record<string, unknown> | undefined> | undefined;
        return {
            ...route,
            options: {
                ...options,
                auth: protect ? API_STRATEGY : false,
                plugins: protect
                    ? { ...plugins, 'hapi-swagger': { ...plugins?.['hapi-swagger'], security: [{ [API_TOKEN_SCHEME]: [] }] } }
                    : options.plugins
            }
        } as ServerRoute;
    });
}
