// Runs the work of a job in this process and keeps its row current: the
// progress the work reports is kept in memory and written at most once per
// progress interval (with the lease renewal), so a chatty job costs one small
// UPDATE a second. A cancel asked on any instance, or a lost lease, aborts
// the work through its signal; a server stop aborts it and waits.

import { redactSecrets } from '../db/url';
import type { JobKind, JobRecord, JobState, JobStore } from './store';

export interface JobContext<Progress> {
    job: JobRecord;
    signal: AbortSignal;
    onProgress(progress: Progress): void;
}

/** How a finished job is recorded: by default succeeded with its result. */
export interface JobOutcome {
    state: Exclude<JobState, 'running'>;
    error?: string | null;
}

export interface JobRunnerOptions {
    /** At most one progress write per this many milliseconds. */
    progressIntervalMs: number;
    log?: (tags: string[], data: object) => void;
}

/** Why the work's signal was aborted. */
export type AbortReason = 'cancel' | 'lost' | 'stop';

export interface JobWork<Progress, Result> {
    run(context: JobContext<Progress>): Promise<Result>;
    /** Result → state (a report that says "not ok" is a failed job); exceptions are always failures. */
    outcome?(result: Result, reason: AbortReason | null): JobOutcome;
    /** Progress to store with the final state (for example the last table counts). */
    finalProgress?(): Progress | undefined;
}

interface Local {
    job: JobRecord;
    controller: AbortController;
    done: Promise<void>;
}

export class JobRunner {

    private readonly local = new Map<string, Local>();

    constructor(readonly store: JobStore, private readonly options: JobRunnerOptions) {}

    /** Inserts the job (JobConflictError when one runs on the target) and starts its work. */
    async start<Progress, Result>(kind: JobKind, operation: string, target: string, params: object | null, work: JobWork<Progress, Result>): Promise<JobRecord> {

        const job = await this.store.start(kind, operation, target, params);
        const controller = new AbortController();
        const log = this.options.log ?? (() => {});
        let latest: { progress: Progress } | null = null;
        let renewing = false;
        let lastRenewal = Date.now();

        const reason = () => (controller.signal.aborted ? controller.signal.reason as AbortReason : null);
        const tick = async () => {

            const due = Date.now() - lastRenewal >= this.store.leaseMs / 3;
            if (renewing || (!latest && !due)) {
                return;
            }

            renewing = true;
            const pending = latest;
            latest = null;
            try {
                const outcome = await this.store.renew(job, pending ? pending.progress : undefined);
                lastRenewal = Date.now();
                if (outcome !== 'running' && !controller.signal.aborted) {
                    log(['jobs', outcome === 'lost' ? 'error' : 'info'], { job: job.id, event: outcome === 'lost' ? 'lease lost' : 'cancel requested' });
                    controller.abort(outcome);
                }
            }
            catch (error) {
                // A missed renewal is retried at the next tick; the lease covers a few.
                latest ??= pending;
                log(['jobs', 'error'], { job: job.id, event: 'renewal failed', error: redactSecrets((error as Error).message) });
            }
            finally {
                renewing = false;
            }
        };

        const interval = Math.max(50, Math.min(this.options.progressIntervalMs, this.store.leaseMs / 3));
        const timer = setInterval(() => void tick(), interval);
        timer.unref();

        const context: JobContext<Progress> = {
            job,
            signal: controller.signal,
            onProgress: (progress) => {

                latest = { progress };
                job.progress = progress;
            }
        };

        log(['jobs'], { job: job.id, kind, operation, target, event: 'start' });
        const done = (async () => {

            let outcome: JobOutcome;
            let result: Result | null = null;
            try {
                result = await work.run(context);
                outcome = work.outcome?.(result, reason()) ?? { state: 'succeeded' };
            }
            catch (error) {
                const why = reason();
                const message = redactSecrets(error instanceof Error ? error.message : String(error));
                outcome = why === 'cancel' ? { state: 'cancelled', error: message } :
                    why === 'stop' ? { state: 'failed', error: `the server stopped during the job: ${message}` } :
                        { state: 'failed', error: message };
            }
            finally {
                clearInterval(timer);
            }

            if (reason() === 'lost') {
                // Another instance has already recorded this job as failed.
                return;
            }

            const progress = work.finalProgress?.() ?? job.progress ?? undefined;
            try {
                await this.store.finish(job, outcome.state, { result, error: outcome.error ?? null, progress });
            }
            catch (error) {
                // The lease runs out and another instance marks the job failed.
                log(['jobs', 'error'], { job: job.id, event: 'could not record the end', error: redactSecrets((error as Error).message) });
            }

            log(['jobs', outcome.state === 'failed' ? 'error' : 'info'], { job: job.id, kind, operation, target, event: 'end', state: outcome.state, error: outcome.error ?? null });
        })().finally(() => this.local.delete(job.id));

        this.local.set(job.id, { job, controller, done });
        return job;
    }

    /** Cancels a running job wherever it runs: at once here, at the owner's next renewal elsewhere. */
    async cancel(id: string): Promise<boolean> {

        const asked = await this.store.requestCancel(id);
        if (asked) {
            this.local.get(id)?.controller.abort('cancel');
        }

        return asked;
    }

    /** True when this process runs the job. */
    runsHere(id: string): boolean {

        return this.local.has(id);
    }

    /** Waits until a job of this process has finished and recorded its state. */
    async settled(id: string): Promise<void> {

        await this.local.get(id)?.done;
    }

    /** Aborts every job this process runs and waits until each has recorded its end. */
    async stop(): Promise<void> {

        const running = [...this.local.values()];
        for (const { controller } of running) {
            controller.abort('stop');
        }

        await Promise.all(running.map(({ done }) => done));
    }
}
