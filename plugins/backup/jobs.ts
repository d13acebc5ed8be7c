// Long backup operations run as jobs: the route answers 202 at once, the
// console and API clients poll the job for progress and the result. One job
// at a time (the engine refuses a second operation anyway); a server stop
// aborts the running job's child process and waits for it to clean up.

import { randomUUID } from 'node:crypto';

import { redactSecrets } from '../../server/db/url';
import { BackupError } from './errors';
import type { BackupProgress, OperationOptions } from './types';

export type JobOperation = 'create' | 'verify' | 'restore';

export interface BackupJob {
    id: string;
    operation: JobOperation;
    /** The backup the job works on (create: the format). */
    target: string;
    state: 'running' | 'succeeded' | 'failed';
    startedAt: string;
    finishedAt: string | null;
    progress: BackupProgress | null;
    result: unknown;
    error: string | null;
}

const KEEP = 20;

export class JobTracker {

    private jobs: BackupJob[] = [];
    private current: { job: BackupJob; controller: AbortController; done: Promise<void> } | null = null;

    constructor(private readonly onFinish: (job: BackupJob) => void = () => {}) {}

    running(): BackupJob | null {

        return this.current?.job ?? null;
    }

    get(id: string): BackupJob | null {

        return this.jobs.find((job) => job.id === id) ?? null;
    }

    recent(): BackupJob[] {

        return [...this.jobs];
    }

    start(operation: JobOperation, target: string, work: (options: OperationOptions) => Promise<unknown>): BackupJob {

        if (this.current) {
            throw new BackupError('conflict', `a ${this.current.job.operation} job is running (${this.current.job.target}); wait for it to finish`);
        }

        const job: BackupJob = {
            id: randomUUID(),
            operation,
            target,
            state: 'running',
            startedAt: new Date().toISOString(),
            finishedAt: null,
            progress: null,
            result: null,
            error: null
        };

        const controller = new AbortController();
        const options: OperationOptions = {
            signal: controller.signal,
            onProgress: (progress) => {

                job.progress = progress;
            }
        };

        const done = (async () => {

            try {
                job.result = await work(options);
                job.state = 'succeeded';
            }
            catch (error) {
                job.state = 'failed';
                job.error = redactSecrets(error instanceof Error ? error.message : String(error));
            }
            finally {
                job.finishedAt = new Date().toISOString();
                this.current = null;
                this.onFinish(job);
            }
        })();

        this.current = { job, controller, done };
        this.jobs = [job, ...this.jobs].slice(0, KEEP);
        return job;
    }

    /** Aborts the running job (its child process is killed) and waits until it has cleaned up. */
    async stop(): Promise<void> {

        const current = this.current;
        if (current) {
            current.controller.abort();
            await current.done;
        }
    }
}
