// backup: create, list, verify, restore and prune backups of the configured
// database, over admin-only routes and a console panel. The work is done by
// the plain engine module (engine.ts), which scripts can use without Hapi.

import type { Plugin } from '@hapi/hapi';

import type { Config } from '../../server/config';
import { CONSOLE_PANELS } from '../../server/console/panel';
import { backupEngineFromConfig, createBackupEngine, type BackupEngine } from './engine';
import { databaseKey } from '../../server/db/url';
import { readFreshness } from './freshness';
import { BackupJobs } from './jobs';
import { backupPanel, panelRoutes } from './panel';
import { backupRoutes } from './routes';

export { createBackupEngine };
export type { BackupEngine };

export interface BackupPluginOptions {
    config: Config;
}

export const plugin: Plugin<BackupPluginOptions> = {
    name: 'backup',
    dependencies: ['admin-auth', 'jobs'],
    register(server, { config }) {

        const engine = backupEngineFromConfig(config);

        const jobs = new BackupJobs(server.jobs, databaseKey(config.database.url, config.rootDir));

        const thresholds = { maxAgeHours: config.backup.maxAgeHours, verifiedMaxAgeHours: config.backup.verifiedMaxAgeHours };
        server.route([...backupRoutes(engine, jobs, thresholds), ...panelRoutes(engine, jobs, thresholds)]);
        server.expose('engine', engine);
        server.expose('jobs', jobs);
        // For the monitoring plugin's metrics (read at scrape time, if backups are on).
        server.expose('freshness', () => readFreshness(engine, thresholds));
        server.expose(CONSOLE_PANELS, [backupPanel]);
        // A stop aborts a running pg_dump/pg_restore and waits until its
        // partial files are gone (the jobs plugin's onPreStop), before the pool closes.
    }
};
