// fts-sqlite: the FullTextSearch of a SQLite database (FTS5), decorated as server.search.

import type { Plugin } from '@hapi/hapi';

import { createFullTextSearch, resourceShaper } from '../../server/search/service';
import { createSqliteSearchBackend } from './search';

export const plugin: Plugin<Record<string, never>> = {
    name: 'fts-sqlite',
    dependencies: ['db-engine'],
    register(server) {

        server.decorate('server', 'search', createFullTextSearch(createSqliteSearchBackend, server.knex, resourceShaper(server.models)));
    }
};
