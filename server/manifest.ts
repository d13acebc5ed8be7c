// What runs in this environment: the one file that lists plugins. db-engine
// always; full-text search by dialect; the rest by switch (all on by default).

import Boom from '@hapi/boom';
import * as Cookie from '@hapi/cookie';
import type { Manifest } from '@hapi/glue';
import HapiPino from 'hapi-pino';
import Inert from '@hapi/inert';
import Vision from '@hapi/vision';

import * as Api from '../plugins/api';
import * as Backup from '../plugins/backup';
import * as Console from '../plugins/console';
import * as DbEngine from '../plugins/db-engine';
import * as FtsPostgres from '../plugins/fts-postgres';
import * as FtsSqlite from '../plugins/fts-sqlite';
import * as Jobs from '../plugins/jobs';
import * as Maintenance from '../plugins/maintenance';
import * as Monitoring from '../plugins/monitoring';
import * as Migrator from '../plugins/migrator';
import * as Upkeep from '../plugins/upkeep';
import { adminAuth } from './auth';
import type { Config } from './config';
import { core } from './core';
import { csrf } from './csrf';
import { forDialect, redactSecrets } from './db/url';
import { loggingOptions } from './logging';
import { openapi } from './openapi';
import { searchPlugin } from './search/plugin';

export function manifest(config: Config): Manifest {

    const plugins: Array<{ plugin: any; options?: object }> = [
        { plugin: HapiPino, options: loggingOptions(config) },
        { plugin: core, options: { config } },
        { plugin: Cookie.plugin },
        {
            plugin: adminAuth,
            options: {
                token: config.adminToken,
                auth: config.auth,
                secureCookies: config.console.secureCookies,
                // Browser sessions exist only for the console; scripts always use the bearer token.
                session: config.plugins.console
                    ? { ttlMs: config.console.sessionTtlMinutes * 60_000, secureCookies: config.console.secureCookies }
                    : null
            }
        },
        { plugin: Inert },
        { plugin: Vision },
        { plugin: DbEngine.plugin, options: { config } },
        { plugin: Upkeep.plugin, options: { config } },
        { plugin: Jobs.plugin, options: { config } },
        // Registered as `search`, the name api and console depend on.
        { plugin: searchPlugin(forDialect(config.database.type, { postgres: FtsPostgres.plugin, sqlite: FtsSqlite.plugin })) },
        // Always: a library switched read-only stays read-only whatever else runs.
        { plugin: Maintenance.plugin }
    ];

    if (config.plugins.monitoring) {
        plugins.push({ plugin: Monitoring.plugin, options: { config } });
    }

    if (config.plugins.api) {
        plugins.push({ plugin: Api.plugin, options: { config } });
    }

    if (config.plugins.backup) {
        plugins.push({ plugin: Backup.plugin, options: { config } });
    }

    if (config.plugins.console) {
        plugins.push(
            { plugin: csrf, options: { sessionSecret: config.auth.sessionSecret, secureCookies: config.console.secureCookies } },
            { plugin: Console.plugin, options: { config } }
        );
    }

    if (config.plugins.migrator) {
        plugins.push({ plugin: Migrator.plugin, options: { config } });
    }

    // Describes whatever the switches above turned on.
    plugins.push({ plugin: openapi, options: { consoleSessions: config.plugins.console && config.adminToken !== null, apiTokens: config.auth.apiAuth !== 'off' } });

    return {
        server: {
            host: config.host,
            port: config.port,
            routes: {
                validate: {
                    // Tell the client what to fix instead of hapi's generic message.
                    // Joi quotes the offending value: a URL's password is masked.
                    failAction: (_request, _h, error) => {

                        throw Boom.badRequest(redactSecrets(error?.message ?? 'Invalid request'));
                    }
                }
            }
        },
        register: { plugins }
    };
}
