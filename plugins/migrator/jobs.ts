// Data migrations as background jobs for the server: one at a time, with
// live progress and the final report, cancelled cleanly when the server stops.

import { randomUUID } from 'node:crypto';

import { redactSecrets, redactUrl } from '../../server/db/url';
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
    startedAt: string;
    finishedAt: string | null;
    phase: string;
    tables: JobTableProgress[];
    report: MigrationReport | null;
    error: string | null;
}

export type JobOptions = Omit<MigrateOptions, 'onProgress' | 'signal' | 'baseDir'>;

export class JobConflictError extends Error {}

interface Job {
    snapshot: JobSnapshot;
    controller: AbortController;
    done: Promise<void>;
}

export class MigrationJobs {

    private job: Job | null = null;

    constructor(private readonly baseDir: string, private readonly log: (tags: string[], data: object) => void = () => {}) {}

    /** Starts a job; throws MigrationUsageError for bad options and JobConflictError while one runs. */
    start(options: JobOptions): JobSnapshot {

        if (this.job?.snapshot.status === 'running') {
            throw new JobConflictError(`a data migration is already running (job ${this.job.snapshot.id}); wait for it or cancel it`);
        }

        const full: MigrateOptions = { ...options, baseDir: this.baseDir };
        checkMigrateOptions(full);

        const snapshot: JobSnapshot = {
            id: randomUUID(),
            status: 'running',
            source: redactUrl(options.source),
            target: redactUrl(options.target),
            dryRun: Boolean(options.dryRun),
            startedAt: new Date().toISOString(),
            finishedAt: null,
            phase: 'starting',
            tables: [],
            report: null,
            error: null
        };
        const controller = new AbortController();
        const onProgress = (event: ProgressEvent) => this.track(snapshot, event);
        this.log(['migrator', 'job'], { id: snapshot.id, event: 'start', source: snapshot.source, target: snapshot.target, dryRun: snapshot.dryRun });

        const done = migrateData({ ...full, onProgress, signal: controller.signal }).then((report) => {

            snapshot.report = report;
            snapshot.error = report.fatal;
            snapshot.status = report.ok ? 'succeeded' : controller.signal.aborted ? 'cancelled' : 'failed';
            if (report.dryRun) {
                snapshot.tables = report.tables.map((table) => ({ table: table.table, rows: table.sourceRows, done: 0, status: 'waiting' }));
            }
        }, (error: unknown) => {

            snapshot.error = redactSecrets((error as Error).message);
            snapshot.status = 'failed';
        }).finally(() => {

            snapshot.finishedAt = new Date().toISOString();
            snapshot.phase = snapshot.status;
            this.log(['migrator', 'job'], { id: snapshot.id, event: 'end', status: snapshot.status, error: snapshot.error });
        });

        this.job = { snapshot, controller, done };
        return snapshot;
    }

    current(): JobSnapshot | null {

        return this.job?.snapshot ?? null;
    }

    /** Asks a running job to stop after its current batch (it can be resumed). */
    cancel(): boolean {

        if (this.job?.snapshot.status !== 'running') {
            return false;
        }

        this.job.controller.abort();
        return true;
    }

    /** Cancels a running job and waits until it has closed its connections. */
    async stop(): Promise<void> {

        this.cancel();
        await this.job?.done;
    }

    private track(snapshot: JobSnapshot, event: ProgressEvent): void {

        const table = (name: string) => snapshot.tables.find((entry) => entry.table === name);
        switch (event.type) {
            case 'phase':
                snapshot.phase = event.message;
                break;
            case 'plan':
                snapshot.tables = event.tables.map((entry) => ({ table: entry.table, rows: entry.rows, done: entry.done, status: 'waiting' }));
                snapshot.phase = 'copying';
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
}
