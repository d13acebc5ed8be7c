// Completes hapi-swagger's OpenAPI 3 document from what hapi knows about each
// route: its security (from its auth config), the error answers its config
// implies, the media type of non-JSON bodies, and tag groups per plugin.

import type { RequestRoute, Server } from '@hapi/hapi';

import { errorComponents, errorResponseRef, type ErrorStatus } from './errors';
import { normalizeSchemas } from './normalize';
import { OPENAPI_PLUGIN, type RouteOpenApiOptions } from './route';
import { routeSecurity, securitySchemes, type RouteAuth, type SecuritySettings } from './security';

type Json = Record<string, any>;

const BODYLESS_METHODS = new Set(['get', 'head', 'options']);
const VALIDATED_INPUTS = ['params', 'query', 'payload', 'headers'] as const;

/** The error statuses a route can answer whatever its handler does. */
function impliedErrors(route: RequestRoute, auth: RouteAuth | false | null | undefined): ErrorStatus[] {

    const errors: ErrorStatus[] = [500, 503];
    const validate = (route.settings.validate ?? {}) as Record<string, unknown>;
    if (VALIDATED_INPUTS.some((input) => validate[input])) {
        errors.push(400);
    }

    if (!BODYLESS_METHODS.has(route.method)) {
        errors.push(413, 415);
    }

    if (auth && auth.strategies?.length) {
        errors.push(401, 403);
    }

    return errors;
}

function sortedByStatus(responses: Json): Json {

    return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

/** hapi's server.auth.lookup() (documented, missing from its types): the route's effective auth, defaults applied. */
function lookupAuth(server: Server, route: RequestRoute): RouteAuth | false | null {

    return (server.auth as unknown as { lookup(route: RequestRoute): RouteAuth | false | null }).lookup(route);
}

export type DocumentSettings = SecuritySettings;

/** Adds security, error responses, media types and tag groups; returns the same document. */
export function completeDocument(document: Json, server: Server, settings: DocumentSettings): Json {

    const routes = new Map<string, RequestRoute>();
    for (const route of server.table()) {
        routes.set(`${route.method} ${route.path.replace(/\?}/g, '}')}`, route);
    }

    const groups = new Map<string, Set<string>>();
    const used = new Set<ErrorStatus>();
    for (const [path, operations] of Object.entries(document.paths as Json)) {
        for (const [method, operation] of Object.entries(operations as Json)) {
            const route = routes.get(`${method} ${path}`);
            if (!route) {
                continue;
            }

            const auth = lookupAuth(server, route);
            const own = (route.settings.plugins as Json | undefined)?.[OPENAPI_PLUGIN] as RouteOpenApiOptions | undefined;

            operation.security = routeSecurity(auth, method, `${method.toUpperCase()} ${path}`, settings);

            const responses = operation.responses as Json;
            if (own?.contentType) {
                for (const [status, response] of Object.entries(responses)) {
                    if (/^2/.test(status) && response.content) {
                        response.content = { [own.contentType]: Object.values(response.content)[0] };
                    }
                }
            }

            for (const status of new Set([...(own?.errors ?? []), ...impliedErrors(route, auth)])) {
                responses[status] ??= errorResponseRef(status);
                used.add(status);
            }

            operation.responses = sortedByStatus(responses);

            const plugin = route.realm.plugin ?? 'server';
            const tags = groups.get(plugin) ?? new Set<string>();
            for (const tag of operation.tags ?? []) {
                tags.add(tag);
            }

            groups.set(plugin, tags);
        }
    }

    const errors = errorComponents([...used]);
    document.components = {
        ...document.components,
        schemas: { ...document.components?.schemas, ...errors.schemas },
        responses: { ...document.components?.responses, ...errors.responses },
        securitySchemes: securitySchemes(settings)
    };

    // Relative: the server that serves the document, wherever it runs
    // (hapi-swagger would write the host of the request that asked).
    document.servers = [{ url: '/', description: 'This server' }];
    document['x-tagGroups'] = [...groups].map(([plugin, tags]) => ({ name: `${plugin} plugin`, tags: [...tags] }));

    normalizeSchemas(document);
    return document;
}
