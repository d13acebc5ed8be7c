// What runs in this environment: the one file that lists plugins. db-engine
// always; full-text search by dialect; the rest by switch (all on by default).

import Boom from '@hapi/boom';
import type { Manifest } from '@hapi/glue';
import HapiPino from 'hapi-pino';
import Inert from '@hapi/inert';
import Vision from '@hapi/vision';
import HapiSwagger from 'hapi-swagger';

import * as Api from '../plugins/api';
import * as DbEngine from '../plugins/db-engine';
import * as Migrator from '../plugins/migrator';
import { adminAuth } from './auth';
import type { Config } from './config';
import { core } from './core';

export function manifest(config: Config): Manifest {

    const plugins: Array<{ plugin: any; options?: object }> = [
        {
            plugin: HapiPino,
            options: {
                level: config.logLevel,
                redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]'],
                // Health probes and static assets would drown the log.
                ignorePaths: ['/health'],
                logRequestComplete: config.env !== 'test'
            }
        },
        { plugin: core, options: { config } },
        { plugin: adminAuth, options: { token: config.adminToken } },
        { plugin: Inert },
        { plugin: Vision },
        { plugin: DbEngine.plugin, options: { config } }
    ];

    if (config.plugins.api) {
        plugins.push(
            { plugin: Api.plugin, options: { config } },
            {
                plugin: HapiSwagger,
                options: {
                    info: { title: 'Neo Alexandria API', version: '0.1.0' },
                    documentationPath: '/documentation',
                    jsonPath: '/openapi.json',
                    grouping: 'tags',
                    sortEndpoints: 'ordered'
                }
            }
        );
    }

    if (config.plugins.migrator) {
        plugins.push({ plugin: Migrator.plugin, options: { config } });
    }

    return {
        server: {
            host: config.host,
            port: config.port,
            routes: {
                validate: {
                    // Tell the client what to fix instead of hapi's generic message.
                    failAction: (_request, _h, error) => {

                        throw Boom.badRequest(error?.message ?? 'Invalid request');
                    }
                }
            }
        },
        register: { plugins }
    };
}
