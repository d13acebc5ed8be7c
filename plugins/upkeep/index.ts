// upkeep: the periodic work of the server, run by one instance at a time
// (server/upkeep.ts). Plugins add their tasks with server.upkeep.register()
// while they register; the rounds start once the server has started.

import type { Plugin } from '@hapi/hapi';

import type { Config } from '../../server/config';
import { createUpkeep } from '../../server/upkeep';

export interface UpkeepPluginOptions {
    config: Config;
}

export const plugin: Plugin<UpkeepPluginOptions> = {
    name: 'upkeep',
    dependencies: ['db-engine'],
    register(server, { config }) {

        const upkeep = createUpkeep({
            knex: server.knex,
            dialect: server.db.dialect,
            intervalMs: config.upkeep.intervalMs,
            log: (tags, data) => server.log(tags, data)
        });

        // Other plugins add their tasks (champion lists, job leases, the
        // auth clean-up) with server.upkeep.register().
        server.decorate('server', 'upkeep', upkeep);
        server.ext('onPostStart', () => upkeep.start());
        server.ext('onPreStop', () => upkeep.stop());
    }
};
