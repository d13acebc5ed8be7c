// Long backup operations run as jobs in the database (server/jobs/): the
// route answers 202 at once, clients poll the job on any instance. One backup
// operation per database at a time across every instance: the database
// refuses a second one, and the loser is told which job runs.

import type { JobContext, JobRunner } from '../../server/jobs/runner';
import { JobConflictError, type JobRecord } from '../../server/jobs/store';
import { BackupError } from './errors';
import type { BackupProgress, OperationOptions } from './types';

export type JobOperation = 'create' | 'verify' | 'restore';

export interface BackupJob {
    id: string;
    operation: JobOperation;
    /** The backup the job works on (create: the format). */
    target: string;
    state: 'running' | 'succeeded' | 'failed' | 'cancelled';
    /** The instance that runs (or ran) the job. */
    instance: string;
    startedAt: string;
    finishedAt: string | null;
    progress: BackupProgress | null;
    result: unknown;
    error: string | null;
}

const KEEP = 20;

function toBackupJob(record: JobRecord): BackupJob {

    return {
        id: record.id,
        operation: record.operation as JobOperation,
        target: String(record.params?.subject ?? ''),
        state: record.state,
        instance: record.owner,
        startedAt: record.startedAt,
        finishedAt: record.finishedAt,
        progress: record.progress as BackupProgress | null,
        result: record.result,
        error: record.error
    };
}

export class BackupJobs {

    /** `database`: the key of the backed-up database (databaseKey()), shared by every instance. */
    constructor(private readonly runner: JobRunner, private readonly database: string) {}

    async running(): Promise<BackupJob | null> {

        const record = await this.runner.store.running('backup', this.database);
        return record ? toBackupJob(record) : null;
    }

    async get(id: string): Promise<BackupJob | null> {

        const record = await this.runner.store.get(id);
        return record?.kind === 'backup' ? toBackupJob(record) : null;
    }

    async recent(): Promise<BackupJob[]> {

        return (await this.runner.store.recent('backup', KEEP)).map(toBackupJob);
    }

    /** Starts a job; BackupError('conflict') naming the running one when the database is busy. */
    async start(operation: JobOperation, subject: string, work: (options: OperationOptions & { job: JobRecord }) => Promise<unknown>): Promise<BackupJob> {

        try {
            const record = await this.runner.start<BackupProgress, unknown>('backup', operation, this.database, { subject }, {
                run: (context: JobContext<BackupProgress>) => work({ signal: context.signal, onProgress: context.onProgress, job: context.job })
            });
            return toBackupJob(record);
        }
        catch (error) {
            if (error instanceof JobConflictError) {
                const running = toBackupJob(error.running);
                throw new BackupError('conflict', `a backup ${running.operation} job is running (${running.target}; job ${running.id} on instance ${running.instance}, started ${running.startedAt}); wait for it to finish`);
            }

            throw error;
        }
    }

    /** Waits until a job this instance runs has recorded its end (tests). */
    settled(id: string): Promise<void> {

        return this.runner.settled(id);
    }
}

/** The 8 hex digits of a job's id that make its backup's name unique. */
export function uniquePart(job: JobRecord): string {

    return job.id.replace(/-/g, '').slice(0, 8);
}
