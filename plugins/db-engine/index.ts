// db-engine: one knex per process, bound Objection models and withRetry on
// the server; request-scoped views of them on the request (server/db/scope.ts).
// The pool's kept base is opened at start; the pool is destroyed when the
// server stops.
//
// Read replicas (DATABASE_REPLICA_URLS) are decided here and nowhere else: a
// GET route whose options say `app: { reads: 'replica' }` gets request.knex
// and request.models on a replica in rotation (server/db/replicas.ts); every
// other request, and every read that carries a consistency token no replica
// has replayed yet, gets the primary. Write responses carry the token.

import Boom from '@hapi/boom';
import type { Plugin, Request, ResponseObject, ResponseToolkit } from '@hapi/hapi';

import type { Config } from '../../server/config';
import { createDatabaseEngine, getDatabaseType } from '../../server/db/engine';
import { createPoolWarmer } from '../../server/db/pool-warmer';
import { createReplicaSet, parseLsn, type ReadRouting } from '../../server/db/replicas';
import { withRetry, type RetryOptions } from '../../server/db/retry';
import { scopeKnex, scopeModels } from '../../server/db/scope';
import { redactSecrets } from '../../server/db/url';
import { bindModels, type Models } from '../../server/models';

export { createDatabaseEngine, getDatabaseType };

/** The request header a read presents, and the response header a write answers with. */
export const CONSISTENCY_HEADER = 'x-consistency-token';
/** Which database answered a read of a replica-routed route (only with replicas configured). */
export const READ_FROM_HEADER = 'x-read-from';

export interface DbEngineOptions {
    config: Config;
}

const READ_METHODS = new Set(['GET', 'HEAD']);

/** True for a route that reads only and says its reads may come from a replica. */
export function readsFromReplica(request: Request): boolean {

    return READ_METHODS.has(request.method.toUpperCase()) && (request.route.settings.app as { reads?: string } | undefined)?.reads === 'replica';
}

export const plugin: Plugin<DbEngineOptions> = {
    name: 'db-engine',
    register(server, { config }) {

        const { database } = config;
        const log = {
            warn: (message: string | object) => server.log(['db', 'warn'], message),
            error: (message: string | object) => server.log(['db', 'error'], message),
            deprecate: () => {},
            debug: () => {}
        };
        const engine = createDatabaseEngine(database.url, config.pool, { baseDir: config.rootDir, log });

        const models = bindModels(engine.knex);
        const replicas = createReplicaSet(engine, {
            urls: config.replicas.urls,
            maxLagMs: config.replicas.maxLagMs,
            pool: config.pool,
            engine: { baseDir: config.rootDir, log },
            onChange: (status, previous) => server.log(['db', 'replica', status.inRotation ? 'info' : 'warn'], {
                msg: `Replica ${status.target}: ${previous} → ${status.state}${status.error ? ` (${status.error})` : ''}`,
                lag_bytes: status.lagBytes,
                lag_seconds: status.lagSeconds
            })
        });

        server.decorate('server', 'db', engine);
        server.decorate('server', 'knex', engine.knex);
        server.decorate('server', 'models', models);
        server.decorate('server', 'replicas', replicas);
        // Per request: views that stamp each statement with the request, so
        // monitoring can attribute it without async-context tracking.
        server.decorate('request', 'knex', (request: Request) => scopeKnex(engine.knex, { origin: request }), { apply: true });
        server.decorate('request', 'models', (request: Request) => scopeModels(models, request.knex), { apply: true });
        server.decorate('server', 'withRetry', <T>(work: (attempt: number) => Promise<T>, options: RetryOptions = {}) => {

            return withRetry(engine.dialect, work, {
                onRetry: (error, attempt, delay) => server.log(['db', 'retry'], { attempt, delay, code: (error as any)?.code }),
                ...options
            });
        });

        // The route is known from onPreAuth on: move a replica-routed read there.
        server.ext('onPreAuth', (request: Request, h: ResponseToolkit) => {

            if (!readsFromReplica(request)) {
                return h.continue;
            }

            const presented = request.headers[CONSISTENCY_HEADER];
            const token = presented === undefined ? null : parseLsn(presented);
            if (presented !== undefined && token === null) {
                throw Boom.badRequest(`${CONSISTENCY_HEADER} must be a value a write response gave in its ${CONSISTENCY_HEADER} header (a WAL position such as 0/16B3748)`);
            }

            const state = request.plugins['db-engine'];
            if (!replicas.replicas.length || state?.primary) {
                return h.continue;
            }

            const replica = replicas.pick(token);
            if (replica) {
                request.plugins['db-engine'] = { replica } satisfies ReadRouting;
                useDatabase(request, replica.engine.knex, models);
            }

            return h.continue;
        });

        // Before core's own (which maps database errors and adds the security headers).
        server.ext('onPreResponse', async (request: Request, h: ResponseToolkit) => {

            if (!replicas.replicas.length) {
                return h.continue;
            }

            const response = request.response;
            const state = request.plugins['db-engine'];
            if (readsFromReplica(request)) {
                // A replica that failed the read: the primary answers it instead.
                if (state?.replica && 'isBoom' in response && response.isBoom && response.output.statusCode >= 500) {
                    replicas.markFailed(state.replica, response);
                    request.log(['db', 'replica', 'warn'], { msg: `Read on replica ${state.replica.engine.target} failed, answered from the primary: ${redactSecrets(response.message)}` });
                    request.plugins['db-engine'] = { primary: true } satisfies ReadRouting;
                    useDatabase(request, engine.knex, models);
                    return readAgain(request, h);
                }

                const readFrom = state?.replica ? 'replica' : 'primary';
                if ('isBoom' in response && response.isBoom) {
                    response.output.headers[READ_FROM_HEADER] = readFrom;
                }
                else {
                    (response as ResponseObject).header(READ_FROM_HEADER, readFrom);
                }

                return h.continue;
            }

            // A write that succeeded: where the primary's WAL is now, after its commit.
            if (!READ_METHODS.has(request.method.toUpperCase()) && !('isBoom' in response && response.isBoom) && (response as ResponseObject).statusCode < 400) {
                try {
                    (response as ResponseObject).header(CONSISTENCY_HEADER, await replicas.currentLsn());
                }
                catch (error) {
                    request.log(['db', 'replica', 'warn'], { msg: `No consistency token for this write: ${redactSecrets((error as Error).message)}` });
                }
            }

            return h.continue;
        }, { before: ['core'] });

        // The kept base (DB_POOL_MIN) is open before the first request.
        const warmer = createPoolWarmer(engine.knex, (error, failures) => server.log(['db', 'pool', 'warn'], {
            msg: `Could not open ${failures} kept pool connection(s): ${redactSecrets((error as Error)?.message ?? String(error))}`
        }));
        server.ext('onPreStart', async () => {

            await warmer.warm();
            await replicas.start();
        });
        server.ext('onPostStop', async () => {

            warmer.stop();
            await replicas.destroy();
            await engine.destroy();
        });
    }
};

function useDatabase(request: Request, knex: Request['knex'], models: Models): void {

    request.knex = scopeKnex(knex, { origin: request });
    request.models = scopeModels(models, request.knex);
}

/** Runs the route's handler once more (on the primary, which useDatabase set). */
async function readAgain(request: Request, h: ResponseToolkit) {

    const handler = request.route.settings.handler as (request: Request, h: ResponseToolkit) => unknown;
    try {
        const result = await handler.call(request.route.settings.bind ?? null, request, h);
        const response = (result !== null && typeof result === 'object' && 'statusCode' in result && 'source' in result ? result : h.response(result as any)) as ResponseObject;
        return response.header(READ_FROM_HEADER, 'primary');
    }
    catch (error) {
        const boom = Boom.boomify(error as Error);
        boom.output.headers[READ_FROM_HEADER] = 'primary';
        return boom;
    }
}
