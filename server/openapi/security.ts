// How each auth strategy appears in the OpenAPI document. A route's declared
// security is derived from its auth config (server.auth.lookup), never written
// by hand, so a route that changes strategy or mode documents itself. A
// strategy missing here stops the document from being built: add it here.

import { ADMIN_STRATEGY, API_STRATEGY, SESSION_COOKIE } from '../auth';
import { CSRF_HEADER } from '../csrf';

/** One way to authenticate: the schemes used together (OpenAPI security requirement). */
export type SecurityRequirement = Record<string, string[]>;

export interface SecuritySettings {
    /** Console login sessions exist (console on and an admin token set). */
    consoleSessions: boolean;
    /** API_AUTH is not off: data routes name the API token scheme. */
    apiTokens?: boolean;
}

export function securitySchemes({ consoleSessions, apiTokens }: SecuritySettings): Record<string, object> {

    const schemes: Record<string, object> = {
        adminToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'The server\'s ADMIN_TOKEN: `Authorization: Bearer <ADMIN_TOKEN>`. Without ADMIN_TOKEN the ops routes answer 403.'
        }
    };

    if (apiTokens) {
        schemes.apiToken = {
            type: 'http',
            scheme: 'bearer',
            description: 'An API token (`npm run api-tokens -- create <name>`, or the console\'s API tokens panel): `Authorization: Bearer na_…`. '
                + 'Required for writes when API_AUTH=writes, for every data route when API_AUTH=all; the admin token is accepted too.'
        };
    }

    if (consoleSessions) {
        schemes.consoleSession = {
            type: 'apiKey',
            in: 'cookie',
            name: SESSION_COOKIE,
            description: 'The ops console\'s login session (log in at /console/login with the admin token)'
        };
        schemes.consoleCsrf = {
            type: 'apiKey',
            in: 'header',
            name: CSRF_HEADER,
            description: 'With a console session, state-changing requests also carry the CSRF token of the console page'
        };
    }

    return schemes;
}

const SAFE_METHODS = new Set(['get', 'head', 'options']);

type StrategySecurity = (method: string, settings: SecuritySettings) => SecurityRequirement[];

const STRATEGIES: Record<string, StrategySecurity> = {
    [ADMIN_STRATEGY]: (method, { consoleSessions }) => {

        const requirements: SecurityRequirement[] = [{ adminToken: [] }];
        if (consoleSessions) {
            requirements.push(SAFE_METHODS.has(method) ? { consoleSession: [] } : { consoleSession: [], consoleCsrf: [] });
        }

        return requirements;
    },
    // API tokens, or the admin token (same header).
    [API_STRATEGY]: (): SecurityRequirement[] => [{ apiToken: [] }, { adminToken: [] }]
};

export class UndocumentedStrategyError extends Error {

    constructor(strategy: string, route: string) {

        super(`Route ${route} uses the auth strategy "${strategy}", which server/openapi/security.ts does not describe: add it there`);
        this.name = 'UndocumentedStrategyError';
    }
}

/** What hapi's server.auth.lookup() returns for a route. */
export interface RouteAuth {
    strategies?: string[];
    mode?: 'required' | 'optional' | 'try';
}

/**
 * The security requirements of an operation from its route's auth config:
 * none (`[]`, public), the alternatives of its strategies, plus the anonymous
 * alternative (`{}`) when authentication is optional.
 */
export function routeSecurity(auth: RouteAuth | false | null | undefined, method: string, route: string, settings: SecuritySettings): SecurityRequirement[] {

    if (!auth || !auth.strategies?.length) {
        return [];
    }

    const requirements: SecurityRequirement[] = [];
    for (const strategy of auth.strategies) {
        const describe = STRATEGIES[strategy];
        if (!describe) {
            throw new UndocumentedStrategyError(strategy, route);
        }

        requirements.push(...describe(method, settings));
    }

    if (auth.mode === 'optional' || auth.mode === 'try') {
        requirements.push({});
    }

    return requirements;
}
