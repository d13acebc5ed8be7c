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
    dependencies: ['db-engine', 'core', 'admin-auth', 'jobs'],
    register(server, { config }) {

        const jobs = new MigrationJobs(server.jobs, config.rootDir);
        registerRoutes(server, jobs);
        registerPanels(server, jobs);
        server.expose(CONSOLE_PANELS, panels);
        // A server stop cancels a running job after its current batch (the
        // jobs plugin); its checkpoints let a later run resume.
        server.expose('jobs', jobs);
    }
};
