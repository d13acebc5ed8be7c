import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { createDatabaseEngine } from '../../server/db/engine';
import type { DatabaseEngine } from '../../server/db/types';
import { createUpkeep } from '../../server/upkeep';
import { startStandbyCluster } from '../helpers/cluster';
import { createTestDatabase, postgresOnly, type TestDatabase } from '../helpers/database';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

describe('upkeep', () => {

    let database: TestDatabase;
    let engine: DatabaseEngine;

    before(async () => {

        database = await createTestDatabase();
        engine = createDatabaseEngine(database.url, { min: 0, max: 4 });
    });

    after(async () => {

        await engine.destroy();
        await database.cleanup();
    });

    const upkeep = () => createUpkeep({ knex: engine.knex, dialect: engine.dialect, intervalMs: 60_000 });

    it('runs each task inside its own transaction and reports what it did', async () => {

        const worker = upkeep();
        let stale = true;
        worker.register({
            name: 'refresh',
            run: async (trx) => {

                await trx('ops_jobs').where({ state: 'running' }).count({ count: '*' });
                if (!stale) {
                    return null;
                }

                stale = false;
                return 'refreshed';
            }
        });
        worker.register({ name: 'broken', run: () => Promise.reject(new Error('boom')) });
        expect(() => worker.register({ name: 'refresh', run: () => Promise.resolve(null) })).to.throw(/already registered/);

        expect(await worker.runOnce()).to.equal({ refresh: 'done', broken: 'failed' });
        expect(await worker.runOnce()).to.equal({ refresh: 'idle', broken: 'failed' });
    });

    it('postgres only: skips a task another instance is running, and runs it once that one has finished', postgresOnly, async () => {

        const a = upkeep();
        const b = upkeep();
        let runs = 0;
        let release!: () => void;
        const holding = new Promise<void>((resolve) => (release = resolve));
        let entered!: () => void;
        const inside = new Promise<void>((resolve) => (entered = resolve));
        a.register({
            name: 'champions',
            run: async () => {

                ++runs;
                entered();
                await holding;
                return 'rebuilt';
            }
        });
        b.register({
            name: 'champions',
            run: () => {

                ++runs;
                return Promise.resolve(null);
            }
        });

        const first = a.runOnce();
        await inside;
        expect(await b.runOnce()).to.equal({ champions: 'busy' });
        release();
        expect(await first).to.equal({ champions: 'done' });
        expect(await b.runOnce()).to.equal({ champions: 'idle' });
        expect(runs).to.equal(2);
    });

    it('postgres only: takes transaction locks only (nothing is left on the connection)', postgresOnly, async () => {

        const worker = upkeep();
        worker.register({ name: 'locks', run: () => Promise.resolve(null) });
        await worker.runOnce();
        const { rows } = await engine.knex.raw(`SELECT count(*)::int AS held FROM pg_locks WHERE locktype = 'advisory' AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())`);
        expect(rows[0].held).to.equal(0);
    });
});

describe('upkeep on a standby', () => {

    it('postgres only: runs nothing on a read-only standby', { ...postgresOnly, timeout: 120_000 }, async () => {

        const cluster = await startStandbyCluster();
        const engine = createDatabaseEngine(cluster.url, { min: 0, max: 2 });
        try {
            const { rows } = await engine.knex.raw('SELECT pg_is_in_recovery() AS standby');
            expect(rows[0].standby).to.be.true();
            const worker = createUpkeep({ knex: engine.knex, dialect: engine.dialect, intervalMs: 60_000 });
            let ran = false;
            worker.register({
                name: 'champions',
                run: () => {

                    ran = true;
                    return Promise.resolve('rebuilt');
                }
            });
            expect(await worker.runOnce()).to.equal({ champions: 'standby' });
            expect(ran).to.be.false();
        }
        finally {
            await engine.destroy();
            await cluster.stop();
        }
    });
});
