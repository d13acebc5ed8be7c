// backup: create, list, verify, restore and prune backups of the configured
// database, over admin-only routes and a console panel. The work is done by
// the plain engine module (engine.ts), which scripts can use without Hapi.

import type { Plugin } from '@hapi/hapi';

import type { Config } from '../../server/config';
import { CONSOLE_PANELS } from '../../server/console/panel';
import { backupEngineFromConfig, createBackupEngine, type BackupEngine } from './engine';
import { JobTracker } from './jobs';
import { backupPanel, panelRoutes } from './panel';
import { backupRoutes } from './routes';

export { createBackupEngine };
export type { BackupEngine };

export interface BackupPluginOptions {
    config: Config;
}

export const plugin: Plugin<BackupPluginOptions> = {
    name: 'backup',
    dependencies: ['admin-auth'],
    register(server, { config }) {

        const engine = backupEngineFromConfig(config);

        const jobs = new JobTracker((job) => {

            server.log(['backup', job.state === 'failed' ? 'error' : 'info'], { job: job.id, operation: job.operation, target: job.target, state: job.state, error: job.error });
        });

        server.route([...backupRoutes(engine, jobs), ...panelRoutes(engine, jobs)]);
        server.expose('engine', engine);
        server.expose('jobs', jobs);
        server.expose(CONSOLE_PANELS, [backupPanel]);

        // A stop aborts a running pg_dump/pg_restore and waits until its
        // partial files are gone, before the pool closes.
        server.ext('onPreStop', () => jobs.stop());
    }
};
