import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { createDatabaseEngine } from '../../server/db/engine';
import type { DatabaseEngine } from '../../server/db/types';
import { JobRunner } from '../../server/jobs/runner';
import { createJobStore, JobConflictError, type JobStore } from '../../server/jobs/store';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

export const lab = Lab.script();
const { describe, it, before, after, beforeEach } = lab;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('jobs in the database', () => {

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

    beforeEach(async () => {

        await engine.knex('ops_jobs').delete();
    });

    /** A store as another instance would have it, with its own clock. */
    const instance = (name: string, leaseMs = 10_000, now?: () => Date): JobStore => createJobStore(engine.knex, { instanceId: name, leaseMs, now });

    it('runs one job per kind and target, and names the running one to the loser', async () => {

        const a = instance('a');
        const b = instance('b');
        const first = await a.start('backup', 'create', 'postgres://db:5432/library', { subject: 'custom' });
        const error = await b.start('backup', 'verify', 'postgres://db:5432/library').catch((failure: unknown) => failure) as JobConflictError;
        expect(error).to.be.an.instanceof(JobConflictError);
        expect(error.running.id).to.equal(first.id);
        expect(error.message).to.contain(first.id).and.to.contain('instance a');

        // Another target, or another kind on the same target, may run.
        await b.start('backup', 'create', 'postgres://db:5432/other');
        await b.start('data-migration', 'migrate', 'postgres://db:5432/library');

        // Every instance sees every job.
        expect((await b.get(first.id))).to.include({ state: 'running', owner: 'a', params: { subject: 'custom' } });
        expect((await b.recent('backup')).map((job) => job.id)).to.include(first.id);

        await a.finish(first, 'succeeded', { result: { name: 'x' } });
        expect(await b.get(first.id)).to.include({ state: 'succeeded', result: { name: 'x' } });
        expect(await b.running('backup', 'postgres://db:5432/library')).to.be.null();
        await b.start('backup', 'verify', 'postgres://db:5432/library');
    });

    it('lets exactly one of many simultaneous starts win', async () => {

        const attempts = await Promise.allSettled(Array.from({ length: 8 }, (_, index) => instance(`i${index}`).start('backup', 'create', 'sqlite:/lib.db')));
        const won = attempts.filter((attempt) => attempt.status === 'fulfilled');
        const lost = attempts.filter((attempt): attempt is PromiseRejectedResult => attempt.status === 'rejected');
        expect(won).to.have.length(1);
        expect(lost.every((attempt) => attempt.reason instanceof JobConflictError)).to.be.true();
    });

    it('fails a job whose owner stopped renewing its lease, when anyone looks after the lease', async () => {

        let clock = Date.now();
        const dead = instance('dead', 5_000, () => new Date(clock));
        const other = instance('other', 5_000, () => new Date(clock));
        const job = await dead.start('backup', 'create', 'sqlite:/lib.db');

        clock += 4_000;
        expect((await other.get(job.id))!.state).to.equal('running');
        expect(await dead.renew(job, { phase: 'dumping' })).to.equal('running');
        clock += 4_000;
        // Renewed 4 s ago with a 5 s lease: still running.
        expect((await other.get(job.id))!.progress).to.equal({ phase: 'dumping' });
        clock += 2_000;
        const failed = (await other.get(job.id))!;
        expect(failed.state).to.equal('failed');
        expect(failed.error).to.contain('(dead) stopped renewing its lease');
        expect(failed.finishedAt).to.exist();

        // The owner, if it was only stalled, learns it lost the job; the target is free.
        expect(await dead.renew(job)).to.equal('lost');
        await other.start('backup', 'create', 'sqlite:/lib.db');
    });

    it('tells the owner about a cancel asked on another instance', async () => {

        const owner = instance('owner');
        const job = await owner.start('data-migration', 'migrate', 'sqlite:/target.db');
        expect(await instance('other').requestCancel(job.id)).to.be.true();
        expect(await owner.renew(job)).to.equal('cancel');
        await owner.finish(job, 'cancelled', { error: 'cancelled' });
        expect(await instance('other').requestCancel(job.id)).to.be.false();
    });

    it('puts back the row of a running job when its table was replaced under it (a full restore)', async () => {

        const owner = instance('owner');
        const job = await owner.start('backup', 'restore', 'sqlite:/lib.db', { subject: 'b.sqlite3' });
        await engine.knex('ops_jobs').delete();
        expect(await owner.renew(job, { phase: 'restoring' })).to.equal('running');
        expect(await owner.get(job.id)).to.include({ state: 'running', progress: { phase: 'restoring' } });
        await engine.knex('ops_jobs').delete();
        await owner.finish(job, 'succeeded', { result: { mode: 'full' } });
        expect(await owner.get(job.id)).to.include({ state: 'succeeded', result: { mode: 'full' } });
    });

    describe('runner', () => {

        it('writes progress at most once per interval, however often the work reports it', { timeout: 20_000 }, async () => {

            const runner = new JobRunner(instance('runner'), { progressIntervalMs: 200 });
            let updates = 0;
            const count = (query: { sql: string }) => {

                if (/^update\b.*ops_jobs/i.test(query.sql)) {
                    ++updates;
                }
            };

            engine.knex.on('query', count);
            try {
                const job = await runner.start<{ done: number }, string>('backup', 'create', 'sqlite:/lib.db', null, {
                    run: async ({ onProgress }) => {

                        for (let done = 1; done <= 1000; ++done) {
                            onProgress({ done });
                            if (done % 10 === 0) {
                                await sleep(1);
                            }
                        }

                        await sleep(300);
                        return 'ok';
                    }
                });
                await runner.settled(job.id);
            }
            finally {
                engine.knex.off('query', count);
            }

            // 1,000 reports over about half a second: a handful of writes plus the final one.
            expect(updates).to.be.at.least(2).and.at.most(8);
            const [job] = await runner.store.recent('backup');
            expect(job).to.include({ state: 'succeeded', result: 'ok', progress: { done: 1000 } });
        });

        it('stops the work when another instance cancels it, and records it as cancelled', { timeout: 20_000 }, async () => {

            const runner = new JobRunner(instance('owner', 600), { progressIntervalMs: 100 });
            const job = await runner.start('data-migration', 'migrate', 'sqlite:/target.db', null, {
                run: ({ signal }) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('stopped after the batch'))))
            });
            expect(await new JobRunner(instance('other'), { progressIntervalMs: 100 }).cancel(job.id)).to.be.true();
            await runner.settled(job.id);
            expect(await runner.store.get(job.id)).to.include({ state: 'cancelled', error: 'stopped after the batch' });
        });

        it('aborts its jobs on stop and records that the server stopped', { timeout: 20_000 }, async () => {

            const runner = new JobRunner(instance('owner'), { progressIntervalMs: 100 });
            const job = await runner.start('backup', 'create', 'sqlite:/lib.db', null, {
                run: ({ signal }) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('pg_dump was stopped'))))
            });
            await runner.stop();
            const stored = (await runner.store.get(job.id))!;
            expect(stored.state).to.equal('failed');
            expect(stored.error).to.contain('the server stopped during the job');
        });
    });
});
