// The REST API: resources, collections, annotations, taxonomy, search, health.
// Every input is validated with Joi; every error leaves as a Boom error.

import type { Plugin } from '@hapi/hapi';

import type { Config } from '../../server/config';
import { withApiAuth } from '../../server/security/api-auth';
import { annotationRoutes } from './annotations';
import { collectionRoutes } from './collections';
import { healthRoutes } from './health';
import { resourceRoutes } from './resources';
import { searchRoutes } from './search';
import { taxonomyRoutes } from './taxonomy';

export interface ApiOptions {
    config: Config;
}

export const plugin: Plugin<ApiOptions> = {
    name: 'api',
    dependencies: ['db-engine'],
    register(server, { config }) {

        // API_AUTH decides which routes need a token (server/security/api-auth.ts).
        server.route(withApiAuth([
            ...healthRoutes,
            ...resourceRoutes,
            ...collectionRoutes,
            ...annotationRoutes,
            ...taxonomyRoutes,
            ...searchRoutes
        ], config.auth.apiAuth));
    }
};
