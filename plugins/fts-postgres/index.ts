// fts-postgres: the FullTextSearch of a PostgreSQL database (bm25 in SQL),
// decorated as server.search, and its upkeep: champion lists, the fold of
// the bm25 statistics' shards and planner statistics.

import type { Plugin } from '@hapi/hapi';

import { createFullTextSearch, resourceShaper } from '../../server/search/service';
import { createPostgresSearchBackend, refreshChampionsIfStale } from './search';
import { analyzeSearchIfStale, foldSearchStatistics } from './statistics';

// Champion lists are rebuilt after 2,000 changed documents (a rebuild takes
// seconds at 100,000 documents, so it should not run for a handful);
// statistics after bulk changes (a stale plan costs every search until the
// next ANALYZE). Both are checked at each upkeep round, by one instance.
const CHAMPION_REFRESH_AFTER = 2_000;

export const plugin: Plugin<Record<string, never>> = {
    name: 'fts-postgres',
    dependencies: ['db-engine', 'upkeep'],
    register(server) {

        server.decorate('server', 'search', createFullTextSearch(createPostgresSearchBackend, server.knex, resourceShaper(server.models)));

        // One instance does each (the upkeep leader of the task); the
        // staleness checks run after the lock is taken, so an instance that
        // follows a rebuild finds nothing to do.
        server.upkeep.register({
            name: 'search-champions',
            run: async (trx) => {

                const changed = await refreshChampionsIfStale(trx, CHAMPION_REFRESH_AFTER);
                return changed === null ? null : `champion lists rebuilt after ${changed} changed documents`;
            }
        });
        // Writers spread bm25's counts over shards so none waits on another;
        // folding them back keeps a word's frequency one row to read.
        server.upkeep.register({
            name: 'search-stats-fold',
            run: async (trx) => {

                const moved = await foldSearchStatistics(trx);
                return moved ? `folded ${moved} statistics rows of other shards` : null;
            }
        });
        server.upkeep.register({
            name: 'search-statistics',
            run: async (trx) => {

                const analyzed = await analyzeSearchIfStale(trx);
                return analyzed.length ? `analyzed ${analyzed.join(', ')} after bulk changes` : null;
            }
        });
    }
};
