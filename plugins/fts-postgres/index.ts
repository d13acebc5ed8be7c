// fts-postgres: the FullTextSearch of a PostgreSQL database (bm25 in SQL),
// decorated as server.search, and the upkeep of its champion lists.

import type { Plugin } from '@hapi/hapi';

import { createFullTextSearch, resourceShaper } from '../../server/search/service';
import { createPostgresSearchBackend, refreshChampionsIfStale } from './search';

// Rebuilt after 2,000 changed documents (a rebuild takes seconds at 100,000
// documents, so it should not run for a handful), checked at each upkeep round.
const CHAMPION_REFRESH_AFTER = 2_000;

export const plugin: Plugin<Record<string, never>> = {
    name: 'fts-postgres',
    dependencies: ['db-engine', 'upkeep'],
    register(server) {

        server.decorate('server', 'search', createFullTextSearch(createPostgresSearchBackend, server.knex, resourceShaper(server.models)));

        // One instance rebuilds (the upkeep leader); the staleness check runs
        // after the lock is taken, so an instance that follows a rebuild finds
        // nothing to do.
        server.upkeep.register({
            name: 'search-champions',
            run: async (trx) => {

                const changed = await refreshChampionsIfStale(trx, CHAMPION_REFRESH_AFTER);
                return changed === null ? null : `champion lists rebuilt after ${changed} changed documents`;
            }
        });
    }
};
