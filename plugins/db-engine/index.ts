// db-engine: one knex per process, bound Objection models and withRetry on
// the server; request-scoped views of them on the request (server/db/scope.ts).
// The pool's kept base is opened at start; the pool is destroyed when the
// server stops.

import type { Plugin, Request } from '@hapi/hapi';

import type { Config } from '../../server/config';
import { createDatabaseEngine, getDatabaseType } from '../../server/db/engine';
import { createPoolWarmer } from '../../server/db/pool-warmer';
import { withRetry, type RetryOptions } from '../../server/db/retry';
import { scopeKnex, scopeModels } from '../../server/db/scope';
import { redactSecrets } from '../../server/db/url';
import { bindModels } from '../../server/models';

export { createDatabaseEngine, getDatabaseType };

export interface DbEngineOptions {
    config: Config;
}

export const plugin: Plugin<DbEngineOptions> = {
    name: 'db-engine',
    register(server, { config }) {

        const { database } = config;
        const engine = createDatabaseEngine(database.url, config.pool, {
            baseDir: config.rootDir,
            log: {
                warn: (message: string | object) => server.log(['db', 'warn'], message),
                error: (message: string | object) => server.log(['db', 'error'], message),
                deprecate: () => {},
                debug: () => {}
            }
        });

        const models = bindModels(engine.knex);

        server.decorate('server', 'db', engine);
        server.decorate('server', 'knex', engine.knex);
        server.decorate('server', 'models', models);
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

        // The kept base (DB_POOL_MIN) is open before the first request.
        const warmer = createPoolWarmer(engine.knex, (error, failures) => server.log(['db', 'pool', 'warn'], {
            msg: `Could not open ${failures} kept pool connection(s): ${redactSecrets((error as Error)?.message ?? String(error))}`
        }));
        server.ext('onPreStart', () => warmer.warm());
        server.ext('onPostStop', () => {

            warmer.stop();
            return engine.destroy();
        });
    }
};
