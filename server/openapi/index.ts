// The OpenAPI 3 description of every route tagged 'api', at /openapi.json,
// with Swagger UI at /documentation. hapi-swagger turns each route's Joi
// schemas into the document; completeDocument() adds what hapi's route
// config implies (security, error answers) before it leaves.

import type { Plugin, Request, ResponseObject, ResponseToolkit } from '@hapi/hapi';
import HapiSwagger from 'hapi-swagger';

import { completeDocument, type DocumentSettings } from './document';

export { documented } from './route';

export const OPENAPI_JSON_PATH = '/openapi.json';
export const DOCUMENTATION_PATH = '/documentation';

export type OpenApiOptions = DocumentSettings;

const DESCRIPTION = 'A knowledge library: resources, collections, annotations, taxonomy and full-text search, on SQLite or PostgreSQL. ' +
    'Errors are JSON `{ statusCode, error, message }`; every response carries an `X-Request-Id`. ' +
    'Ops routes (monitoring, backup, migrator, ops) need the admin token (`Authorization: Bearer <ADMIN_TOKEN>`) or a console login.';

/** One tag per area; the document groups them by the plugin that serves them (x-tagGroups). */
export const TAGS = [
    { name: 'health', description: 'Liveness and database reachability' },
    { name: 'resources', description: 'Articles, papers and links with Dublin-Core-like metadata' },
    { name: 'collections', description: 'Nestable collections of resources' },
    { name: 'annotations', description: 'Highlights and notes on a resource' },
    { name: 'taxonomy', description: 'Classification codes and the taxonomy tree (read-only)' },
    { name: 'search', description: 'Full-text search ranked by bm25' },
    { name: 'monitoring', description: 'Database, pool and query figures; Prometheus metrics (admin token unless METRICS_PUBLIC)' },
    { name: 'backup', description: 'Create, list, verify, restore and prune backups; poll their jobs (admin token)' },
    { name: 'migrator', description: 'Schema migrations and SQLite ⇄ PostgreSQL data migration jobs (admin token)' },
    { name: 'ops', description: 'The console overview as JSON (admin token)' }
];

export const openapi: Plugin<OpenApiOptions> = {
    name: 'openapi',
    dependencies: ['@hapi/inert', '@hapi/vision'],
    async register(server, options) {

        await server.register({
            plugin: HapiSwagger,
            options: {
                OAS: 'v3.0',
                info: { title: 'Neo Alexandria API', version: '0.1.0', description: DESCRIPTION, license: { name: 'UNLICENSED (private)' } },
                tags: TAGS,
                documentationPath: DOCUMENTATION_PATH,
                jsonPath: OPENAPI_JSON_PATH,
                grouping: 'tags',
                sortEndpoints: 'ordered',
                // Component names come from Joi labels, never Model1, Model2…
                definitionPrefix: 'useLabel',
                // Swagger UI keeps the token across reloads once entered with Authorize.
                uiOptions: { persistAuthorization: true }
            }
        });

        // One string comparison per response: hapi-swagger's document route
        // takes no extension of its own.
        server.ext('onPreResponse', (request: Request, h: ResponseToolkit) => {

            const response = request.response as ResponseObject;
            if (request.route.path === OPENAPI_JSON_PATH && !('isBoom' in response && response.isBoom) && response.source) {
                completeDocument(response.source as Record<string, any>, request.server, options);
            }

            return h.continue;
        });
    }
};
