// migrator: schema-migration control and data-migration jobs, as JSON routes
// and console panels. The engine (migrator.ts) runs without Hapi too.

import type { Plugin } from '@hapi/hapi';

import type { Config } from '../../server/config';
import { CONSOLE_PANELS } from '../../server/console/panel';
import { MigrationJobs } from './jobs';
import { panels, registerPanels } from './panel';
import { registerRoutes } from './routes';

export interface MigratorPluginOptions {
    config: Config;
}

export const plugin: Plugin<MigratorPluginOptions> = {
    name: 'migrator',
    dependencies: ['db-engine', 'admin-auth'],
    register(server, { config }) {

        const jobs = new MigrationJobs(config.rootDir, (tags, data) => server.log(tags, data));
        registerRoutes(server, jobs);
        registerPanels(server, jobs);
        server.expose(CONSOLE_PANELS, panels);
        server.expose('jobs', jobs);

        // A running job is cancelled after its current batch and its
        // connections closed; its checkpoints let a later run resume.
        server.ext('onPostStop', () => jobs.stop());
    }
};
