// search: the name other plugins depend on for server.search. The manifest
// hands it the fts plugin of the database's dialect, which it registers, so a
// dependency on full-text search does not name a dialect.

import type { Plugin } from '@hapi/hapi';

export function searchPlugin(implementation: Plugin<Record<string, never>>): Plugin<void> {

    return {
        name: 'search',
        dependencies: ['db-engine'],
        async register(server) {

            await server.register(implementation);
        }
    };
}
