import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { DatabaseStatus } from '../../../plugins/monitoring/database-status';
import type { DatabaseProbe } from '../../../plugins/monitoring/dialects/types';
import type { PoolMonitor, PoolStatus } from '../../../plugins/monitoring/pool-monitor';
import { percentile, RecentWindow } from '../../../plugins/monitoring/recent-window';
import { createTestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it } = lab;

describe('monitoring: RecentWindow', () => {

    it('gives nearest-rank percentiles of the samples inside the window only', () => {

        const window = new RecentWindow(100, 1000);
        for (let i = 1; i <= 20; ++i) {
            window.add(i, 0);
        }

        for (let i = 101; i <= 110; ++i) {
            window.add(i, 1500);
        }

        expect(window.summary(1600)).to.equal({ samples: 10, p50: 105, p95: 110, max: 110 });
        expect(window.summary(5000)).to.equal({ samples: 0, p50: null, p95: null, max: null });
    });

    it('keeps fixed memory: the newest samples overwrite the oldest', () => {

        const window = new RecentWindow(4, 10_000);
        for (const value of [100, 100, 1, 2, 3, 4]) {
            window.add(value, 0);
        }

        expect(window.summary(0)).to.equal({ samples: 4, p50: 2, p95: 4, max: 4 });
    });

    it('computes percentiles by nearest rank', () => {

        expect(percentile([1, 2, 3, 4], 0.5)).to.equal(2);
        expect(percentile([1, 2, 3, 4], 0.95)).to.equal(4);
        expect(percentile([7], 0.5)).to.equal(7);
    });
});

describe('monitoring: DatabaseStatus', () => {

    it('still reports the pool when the statistics query fails, naming the error code only', async () => {

        const t = await createTestServer();
        try {
            const failing: DatabaseProbe = {
                section: t.database.type,
                metrics: [],
                collect() {

                    const error = Object.assign(new Error('connect to postgres://u:S3cret@db failed'), { code: 'ECONNREFUSED' });
                    return Promise.reject(error);
                }
            };
            const pool = { status: () => ({ in_use: 0 }) as PoolStatus } as PoolMonitor;
            const status = new DatabaseStatus({ engine: t.server.db, pool, probe: failing, statsKnex: t.server.knex, errorCount: () => 0 });
            const report = await status.report();
            expect(report.pool).to.equal({ in_use: 0 } as PoolStatus);
            expect(report.stats_error).to.equal('The database did not answer the statistics query (ECONNREFUSED)');
            expect(report[t.database.type]).to.not.exist();
            expect(report.version).to.be.a.string();
        }
        finally {
            await t.stop();
        }
    });
});
