// Core behaviour every route shares: the validated config on the server, one
// error mapper for every response, and validation errors that say what to fix.

import type { Plugin, Request, ResponseObject, ResponseToolkit } from '@hapi/hapi';

import type { Config } from './config';
import { redactSecrets } from './db/url';
import { mapDatabaseError, SCHEMA_OUTDATED } from './errors';
import { CLIENT_ERROR_TAG, clientErrorLog, echoRequestId } from './logging';
import { addSecurityHeaders } from './security/headers';

export interface CoreOptions {
    config: Config;
}

export const core: Plugin<CoreOptions> = {
    name: 'core',
    register(server, { config }) {

        server.decorate('server', 'config', config);

        // hapi-pino leaves these out (server/logging.ts): logged here without the raw bytes.
        server.events.on({ name: 'log', channels: 'internal' }, (event, tags) => {

            if (tags[CLIENT_ERROR_TAG] && tags.connection) {
                server.log(['http', 'malformed-request', 'warn'], clientErrorLog(event.error));
            }
        });

        server.ext('onPreResponse', (request: Request, h: ResponseToolkit) => {

            const response = request.response;
            if ('isBoom' in response && response.isBoom && response.output.statusCode === 500) {
                const mapped = mapDatabaseError(response);
                if (mapped) {
                    // A database error with a meaning for the client (503, 409, …).
                    if ((mapped.data as { reason?: string } | null)?.reason === SCHEMA_OUTDATED) {
                        // The operator needs the statement that failed; the client does not.
                        request.log(['db', 'schema', 'error'], { message: redactSecrets(response.message) });
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
