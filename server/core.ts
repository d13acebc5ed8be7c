// Core behaviour every route shares: the validated config on the server, one
// error mapper for every response, and validation errors that say what to fix;
// and where `/` leads.

import type { Plugin, Request, ResponseObject, ResponseToolkit } from '@hapi/hapi';

import type { Config } from './config';
import { redactSecrets } from './db/url';
import { DATABASE_FAULT, mapDatabaseError, SCHEMA_OUTDATED } from './errors';
import { CLIENT_ERROR_TAG, clientErrorLog, echoRequestId } from './logging';
import { addSecurityHeaders } from './security/headers';

const SAFE_METHODS = new Set(['get', 'head', 'options']);

export interface CoreOptions {
    config: Config;
}

export const core: Plugin<CoreOptions> = {
    name: 'core',
    register(server, { config }) {

        server.decorate('server', 'config', config);

        // Someone opening the bare address lands on the API documentation
        // (the console when the API is off) instead of a 404.
        const home = config.plugins.api ? '/documentation' : config.plugins.console ? '/console' : null;
        if (home) {
            server.route({
                method: 'GET',
                path: '/',
                options: { auth: false, description: `Redirects to ${home}` },
                handler: (_request: Request, h: ResponseToolkit) => h.redirect(home)
            });
        }

        // hapi-pino leaves these out (server/logging.ts): logged here without the raw bytes.
        server.events.on({ name: 'log', channels: 'internal' }, (event, tags) => {

            if (tags[CLIENT_ERROR_TAG] && tags.connection) {
                server.log(['http', 'malformed-request', 'warn'], clientErrorLog(event.error));
            }
        });

        server.ext('onPreResponse', (request: Request, h: ResponseToolkit) => {

            const response = request.response;
            if ('isBoom' in response && response.isBoom && response.output.statusCode === 500) {
                const mapped = mapDatabaseError(response, { write: !SAFE_METHODS.has(request.method) });
                if (mapped) {
                    // A database error with a meaning for the client (503, 409, …).
                    const reason = (mapped.data as { reason?: string } | null)?.reason;
                    if (reason === SCHEMA_OUTDATED) {
                        // The operator needs the statement that failed; the client does not.
                        request.log(['db', 'schema', 'error'], { message: redactSecrets(response.message) });
                    }
                    else if (reason === DATABASE_FAULT) {
                        request.log(['db', 'error'], { message: redactSecrets(response.message), stack: redactSecrets(response.stack ?? '') });
                    }

                    echoRequestId(request, mapped);
                    addSecurityHeaders(mapped);
                    return mapped;
                }

                // A real fault: full details go to the log (credentials
                // removed), the client gets hapi's generic 500 body.
                request.log(['error'], {
                    message: redactSecrets(response.message),
                    stack: redactSecrets(response.stack ?? '')
                });
            }

            // Last, on whatever goes out: the request id (server/logging.ts) and the security headers.
            echoRequestId(request);
            addSecurityHeaders(request.response as ResponseObject);
            return h.continue;
        });
    }
};
