// fts-postgres: the FullTextSearch of a PostgreSQL database (bm25 in SQL),
// decorated as server.search, and its upkeep: champion lists and planner
// statistics.

import type { Plugin, Server } from '@hapi/hapi';

import { createFullTextSearch, resourceShaper } from '../../server/search/service';
import { createPostgresSearchBackend, refreshChampionsIfStale } from './search';
import { analyzeSearchIfStale } from './statistics';

// Champion lists are checked once a minute and rebuilt after 2,000 changed
// documents (a rebuild takes seconds at 100,000 documents, so it should not
// run for a handful). Statistics are checked more often: one catalog row per
// table, and a stale plan costs every search until the next ANALYZE.
const CHAMPION_CHECK_MS = 60_000;
const CHAMPION_REFRESH_AFTER = 2_000;
const STATISTICS_CHECK_MS = 15_000;

function every(server: Server, ms: number, tags: string[], task: () => Promise<string | null>): void {

    let timer: NodeJS.Timeout | null = null;
    let running = false;
    server.ext('onPostStart', () => {

        timer = setInterval(async () => {

            if (running) {
                return;
            }

            running = true;
            try {
                const message = await task();
                if (message) {
                    server.log(tags, message);
                }
            }
            catch (error) {
                server.log([...tags, 'error'], error instanceof Error ? error.message : String(error));
            }
            finally {
                running = false;
            }
        }, ms);
        timer.unref();
    });
    server.ext('onPreStop', () => {

        if (timer) {
            clearInterval(timer);
        }
    });
}

export const plugin: Plugin<Record<string, never>> = {
    name: 'fts-postgres',
    dependencies: ['db-engine'],
    register(server) {

        server.decorate('server', 'search', createFullTextSearch(createPostgresSearchBackend, server.knex, resourceShaper(server.models)));

        every(server, CHAMPION_CHECK_MS, ['search', 'champions'], async () => {

            const changed = await refreshChampionsIfStale(server.knex, CHAMPION_REFRESH_AFTER);
            return changed === null ? null : `champion lists rebuilt after ${changed} changed documents`;
        });
        every(server, STATISTICS_CHECK_MS, ['search', 'statistics'], async () => {

            const analyzed = await analyzeSearchIfStale(server.knex);
            return analyzed.length ? `analyzed ${analyzed.join(', ')} after bulk changes` : null;
        });
    }
};
