// SQLite's PRAGMA quick_check / integrity_check as jobs (server/jobs/): they
// read the whole file, seconds to minutes on a large library, so a request
// only starts one (202) and anyone polls it. The check runs on a connection
// of its own; the job's row holds its state, result and lease like a backup's,
// and one check per database runs at a time (the jobs table refuses a second).

import type { Knex } from 'knex';

import type { JobRunner } from '../../server/jobs/runner';
import { JobConflictError, type JobRecord } from '../../server/jobs/store';
import { AdvisorError } from './dialects/advisor-types';

export type IntegrityMode = 'quick' | 'full';

/** A check reports at most this many problems (integrity_check's own default is 100). */
export const MAX_PROBLEMS = 100;

export interface IntegrityCheckResult {
    mode: IntegrityMode;
    ok: boolean;
    /** What the pragma reported when not ok, at most MAX_PROBLEMS lines. */
    problems: string[];
    page_count: number;
    duration_ms: number;
}

export interface IntegrityCheckJob {
    id: string;
    mode: IntegrityMode;
    /** running; succeeded (ok); failed (problems found, or the check could not run); cancelled. */
    state: JobRecord['state'];
    /** The check's verdict once it ran: ok, or problems; null while running or when it could not run. */
    verdict: 'ok' | 'problems' | null;
    problems: string[];
    /** What the check is reading (while running). */
    progress: { phase: string; page_count: number } | null;
    error: string | null;
    instance: string;
    started_at: string;
    finished_at: string | null;
}

interface Engine {
    knex: Knex;
    destroy(): Promise<void>;
    /** The application's own engine (an in-memory database): its one connection is never held here. */
    shared?: boolean;
}

function toJob(record: JobRecord): IntegrityCheckJob {

    const result = record.result as IntegrityCheckResult | null;
    return {
        id: record.id,
        mode: (record.params as { mode?: IntegrityMode } | null)?.mode ?? 'quick',
        state: record.state,
        verdict: result ? (result.ok ? 'ok' : 'problems') : null,
        problems: result?.problems ?? [],
        progress: record.progress as IntegrityCheckJob['progress'],
        error: record.error,
        instance: record.owner,
        started_at: record.startedAt,
        finished_at: record.finishedAt
    };
}

export class IntegrityChecks {

    constructor(
        private readonly runner: JobRunner,
        /** The database's key (databaseKey()): one running check per database. */
        private readonly database: string,
        /** A short-lived engine of its own: the check never holds the application's connection. */
        private readonly openEngine: () => Engine
    ) {}

    /** Starts a check; AdvisorError('busy') naming the running one. */
    async start(mode: IntegrityMode): Promise<IntegrityCheckJob> {

        try {
            const record = await this.runner.start<IntegrityCheckJob['progress'], IntegrityCheckResult>('integrity-check', mode, this.database, { mode }, {
                run: ({ signal, onProgress }) => this.check(mode, signal, onProgress),
                outcome: (result) => (result.ok ? { state: 'succeeded' } : { state: 'failed', error: `${result.problems.length} problem(s) found` })
            });
            return toJob(record);
        }
        catch (error) {
            if (error instanceof JobConflictError) {
                const running = toJob(error.running);
                throw new AdvisorError('busy', `An integrity check (${running.mode}) is already running: job ${running.id} on instance ${running.instance}, started ${running.started_at}`);
            }

            throw error;
        }
    }

    async get(id: string): Promise<IntegrityCheckJob | null> {

        const record = await this.runner.store.get(id);
        return record?.kind === 'integrity-check' ? toJob(record) : null;
    }

    /** The running check, else the newest one. */
    async latest(): Promise<IntegrityCheckJob | null> {

        const record = await this.runner.store.running('integrity-check', this.database) ?? (await this.runner.store.recent('integrity-check', 1))[0];
        return record ? toJob(record) : null;
    }

    /** Waits until a check this instance runs has recorded its end (tests). */
    settled(id: string): Promise<void> {

        return this.runner.settled(id);
    }

    private async check(mode: IntegrityMode, signal: AbortSignal, onProgress: (progress: IntegrityCheckJob['progress']) => void): Promise<IntegrityCheckResult> {

        const started = Date.now();
        const engine = this.openEngine();
        try {
            const [{ page_count: pages }] = await engine.knex.raw('SELECT page_count FROM pragma_page_count()');
            onProgress({ phase: `${mode === 'quick' ? 'quick_check' : 'integrity_check'} reading ${pages} pages`, page_count: Number(pages) });
            const pragma = mode === 'quick' ? 'quick_check' : 'integrity_check';
            const verdict = (rows: Array<Record<string, string>>): IntegrityCheckResult => {

                const messages = rows.map((row) => String(Object.values(row)[0]));
                const ok = messages.length === 1 && messages[0] === 'ok';
                return { mode, ok, problems: ok ? [] : messages, page_count: Number(pages), duration_ms: Date.now() - started };
            };

            if (engine.shared) {
                return verdict(await engine.knex.raw(`PRAGMA ${pragma}(${MAX_PROBLEMS})`));
            }

            // A stop or a cancel interrupts the pragma (sqlite3_interrupt) instead of waiting for it.
            const connection = await engine.knex.client.acquireConnection();
            const interrupt = () => (connection as { interrupt?: () => void }).interrupt?.();
            signal.addEventListener('abort', interrupt, { once: true });
            try {
                return verdict(await engine.knex.raw(`PRAGMA ${pragma}(${MAX_PROBLEMS})`).connection(connection));
            }
            finally {
                signal.removeEventListener('abort', interrupt);
                await engine.knex.client.releaseConnection(connection);
            }
        }
        finally {
            await engine.destroy();
        }
    }
}
