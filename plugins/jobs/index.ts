// jobs: background jobs in the database (server/jobs/), shared by the backup
// and migrator plugins as server.jobs. Expired leases are failed by the
// upkeep leader too, so a dead instance's job shows as failed even when
// nobody looks at it.

import type { Plugin } from '@hapi/hapi';

import type { Config } from '../../server/config';
import { newInstanceId } from '../../server/jobs/instance';
import { JobRunner } from '../../server/jobs/runner';
import { createJobStore } from '../../server/jobs/store';

export interface JobsPluginOptions {
    config: Config;
}

export const plugin: Plugin<JobsPluginOptions> = {
    name: 'jobs',
    dependencies: ['db-engine', 'upkeep'],
    register(server, { config }) {

        const store = createJobStore(server.knex, { instanceId: newInstanceId(), leaseMs: config.jobs.leaseMs });
        const runner = new JobRunner(store, {
            progressIntervalMs: config.jobs.progressIntervalMs,
            log: (tags, data) => server.log(tags, data)
        });

        server.decorate('server', 'jobs', runner);
        server.upkeep.register({
            name: 'job-leases',
            run: async (trx) => {

                const expired = await store.expireStale(trx);
                return expired ? `${expired} job(s) whose instance stopped renewing them marked failed` : null;
            }
        });

        // A stop aborts running jobs (a pg_dump is killed, a data migration
        // stops after its batch) and records their end before the pool closes.
        server.ext('onPreStop', () => runner.stop());
    }
};
