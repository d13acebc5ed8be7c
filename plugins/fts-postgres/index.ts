// fts-postgres: the FullTextSearch of a PostgreSQL database (bm25 in SQL),
// decorated as server.search, and the upkeep of its champion lists.

import type { Plugin } from '@hapi/hapi';

import { createFullTextSearch, resourceShaper } from '../../server/search/service';
import { createPostgresSearchBackend, refreshChampionsIfStale } from './search';

// Checked once a minute; rebuilt after 2,000 changed documents (a rebuild
// takes seconds at 100,000 documents, so it should not run for a handful).
const CHAMPION_CHECK_MS = 60_000;
const CHAMPION_REFRESH_AFTER = 2_000;

export const plugin: Plugin<Record<string, never>> = {
    name: 'fts-postgres',
    dependencies: ['db-engine'],
    register(server) {

        server.decorate('server', 'search', createFullTextSearch(createPostgresSearchBackend, server.knex, resourceShaper(server.models)));

        let timer: NodeJS.Timeout | null = null;
        let running = false;
        server.ext('onPostStart', () => {

            timer = setInterval(async () => {

                if (running) {
                    return;
                }

                running = true;
                try {
                    const changed = await refreshChampionsIfStale(server.knex, CHAMPION_REFRESH_AFTER);
                    if (changed !== null) {
                        server.log(['search', 'champions'], `champion lists rebuilt after ${changed} changed documents`);
                    }
                }
                catch (error) {
                    server.log(['search', 'champions', 'error'], error instanceof Error ? error.message : String(error));
                }
                finally {
                    running = false;
                }
            }, CHAMPION_CHECK_MS);
            timer.unref();
        });
        server.ext('onPreStop', () => {

            if (timer) {
                clearInterval(timer);
            }
        });
    }
};
