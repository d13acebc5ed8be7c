// fts-postgres: the FullTextSearch of a PostgreSQL database (bm25 in SQL), decorated as server.search.

import type { Plugin } from '@hapi/hapi';

import { createFullTextSearch, resourceLoader } from '../../server/search/service';
import { createPostgresSearchBackend } from './search';

export const plugin: Plugin<Record<string, never>> = {
    name: 'fts-postgres',
    dependencies: ['db-engine'],
    register(server) {

        const backend = createPostgresSearchBackend(server.knex);
        server.decorate('server', 'search', createFullTextSearch(backend, resourceLoader(server.models)));
    }
};
