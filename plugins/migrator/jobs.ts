// Data migrations as background jobs in the database (server/jobs/): one
// running migration per target database across every instance, live
// progress any instance can show, the final report, and cancellation from
// any instance (the owner stops after its current batch; resumable).

import type { JobContext, JobRunner } from '../../server/jobs/runner';
import { JobConflictError, type JobRecord } from '../../server/jobs/store';
import { databaseKey, redactUrl } from '../../server/db/url';
import { checkMigrateOptions, migrateData } from './migrator';
import type { MigrateOptions, MigrationReport, ProgressEvent } from './types';

export type JobStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobTableProgress {
    table: string;
    rows: number;
    done: number;
    status: 'waiting' | 'copying' | 'done' | 'failed';
}

export interface JobSnapshot {
    id: string;
    status: JobStatus;
    source: string;
    target: string;
    dryRun: boolean;
    /** The instance that runs (or ran) the job. */
    instance: string;
    startedAt: string;
    finishedAt: string | null;
    phase: string;
    tables: JobTableProgress[];
    report: MigrationReport | null;
    error: string | null;
}

export type JobOptions = Omit<MigrateOptions, 'onProgress' | 'signal' | 'baseDir'>;

/** What a data-migration job keeps in its row as progress. */
export interface MigrationProgress {
    phase: string;
    tables: JobTableProgress[];
}

interface MigrationParams {
    source: string;
    target: string;
    dryRun: boolean;
}

export { JobConflictError };

function toSnapshot(record: JobRecord): JobSnapshot {

    const params = record.params as unknown as MigrationParams;
    const progress = record.progress as MigrationProgress | null;
    return {
        id: record.id,
        status: record.state,
        source: params.source,
        target: params.target,
        dryRun: params.dryRun,
        instance: record.owner,
        startedAt: record.startedAt,
        finishedAt: record.finishedAt,
        phase: record.state === 'running' ? progress?.phase ?? 'starting' : record.state,
        tables: progress?.tables ?? [],
        report: record.result as MigrationReport | null,
        error: record.error
    };
}

export class MigrationJobs {

    constructor(private readonly runner: JobRunner, private readonly baseDir: string) {}

    /** Starts a job; MigrationUsageError for bad options, JobConflictError while one runs on the target. */
    async start(options: JobOptions): Promise<JobSnapshot> {

        const full: MigrateOptions = { ...options, baseDir: this.baseDir };
        checkMigrateOptions(full);

        const params: MigrationParams = { source: redactUrl(options.source), target: redactUrl(options.target), dryRun: Boolean(options.dryRun) };
        const progress: MigrationProgress = { phase: 'starting', tables: [] };
        const record = await this.runner.start<MigrationProgress, MigrationReport>('data-migration', params.dryRun ? 'dry-run' : 'migrate', databaseKey(options.target, this.baseDir), params, {
            run: (context: JobContext<MigrationProgress>) => migrateData({
                ...full,
                signal: context.signal,
                onProgress: (event) => {

                    track(progress, event);
                    context.onProgress(progress);
                }
            }),
            outcome: (report, reason) => {

                if (report.dryRun) {
                    progress.tables = report.tables.map((table) => ({ table: table.table, rows: table.sourceRows, done: 0, status: 'waiting' }));
                }

                // Stopped (cancelled here or elsewhere, or the server stopping): resumable.
                return { state: report.ok ? 'succeeded' : reason ? 'cancelled' : 'failed', error: report.fatal };
            },
            finalProgress: () => progress
        });
        return toSnapshot(record);
    }

    /** The running data migration, or else the latest one (any instance). */
    async current(): Promise<JobSnapshot | null> {

        const record = await this.runner.store.running('data-migration') ?? (await this.runner.store.recent('data-migration', 1))[0];
        return record ? toSnapshot(record) : null;
    }

    async get(id: string): Promise<JobSnapshot | null> {

        const record = await this.runner.store.get(id);
        return record?.kind === 'data-migration' ? toSnapshot(record) : null;
    }

    async recent(): Promise<JobSnapshot[]> {

        return (await this.runner.store.recent('data-migration', 20)).map(toSnapshot);
    }

    /** Asks the running job (on whichever instance) to stop after its current batch; false when none runs. */
    async cancel(): Promise<boolean> {

        const running = await this.runner.store.running('data-migration');
        return running ? await this.runner.cancel(running.id) : false;
    }

    /** Waits until a job this instance runs has recorded its end (tests). */
    settled(id: string): Promise<void> {

        return this.runner.settled(id);
    }
}

function track(progress: MigrationProgress, event: ProgressEvent): void {

    const table = (name: string) => progress.tables.find((entry) => entry.table === name);
    switch (event.type) {
        case 'phase':
            progress.phase = event.message;
            break;
        case 'plan':
            progress.tables = event.tables.map((entry) => ({ table: entry.table, rows: entry.rows, done: entry.done, status: 'waiting' }));
            progress.phase = 'copying';
            break;
        case 'table-start':
            Object.assign(table(event.table) ?? {}, { status: 'copying', done: event.done });
            break;
        case 'batch':
            Object.assign(table(event.table) ?? {}, { done: event.done });
            break;
        case 'table-error':
            Object.assign(table(event.table) ?? {}, { status: 'failed' });
            break;
        case 'table-done':
            if (event.report.status === 'ok') {
                Object.assign(table(event.table) ?? {}, { status: 'done', done: Math.max(table(event.table)?.done ?? 0, event.report.sourceRows) });
            }

            break;
    }
}
