// SQLite advice: the write-ahead log against its checkpoint threshold and the
// last checkpoint's result, free pages a VACUUM would return, and integrity
// checks on demand (PRAGMA quick_check/integrity_check read the whole file:
// seconds to minutes on a large library), run as jobs (../integrity-checks.ts).
//
// The last checkpoint is kept in this process: a report, not state another
// instance needs.

import Fs from 'node:fs';

import type { IntegrityCheckJob } from '../integrity-checks';
import { AdvisorError, type AdvisorAction, type AdvisorContext, type DatabaseAdvisorProbe } from './advisor-types';

/** Free pages above this share of the file get a VACUUM hint. */
export const FREELIST_HINT_RATIO = 0.25;
export interface CheckpointResult {
    at: string;
    /** True when readers or a writer kept the checkpoint from finishing. */
    busy: boolean;
    log_frames: number;
    checkpointed_frames: number;
}

export interface IntegrityState {
    state: 'never' | 'running' | 'ok' | 'problems' | 'failed';
    mode: 'quick' | 'full' | null;
    /** The job that ran (runs) the check: GET /monitoring/integrity-checks/{id}. */
    job_id: string | null;
    started_at: string | null;
    finished_at: string | null;
    problems: string[];
    error?: string;
}

/** The newest check's job, as the report shows it. */
function integrityOf(job: IntegrityCheckJob | null): IntegrityState {

    if (!job) {
        return { state: 'never', mode: null, job_id: null, started_at: null, finished_at: null, problems: [] };
    }

    const state = job.state === 'running' ? 'running' : job.verdict ?? 'failed';
    return {
        state,
        mode: job.mode,
        job_id: job.id,
        started_at: job.started_at,
        finished_at: job.finished_at,
        problems: job.problems,
        ...(state === 'failed' ? { error: job.error ?? 'the check could not run' } : {})
    };
}

const PRAGMAS_SQL = `
    SELECT page_size, page_count, freelist_count, journal_mode
      FROM pragma_page_size(), pragma_page_count(), pragma_freelist_count(), pragma_journal_mode()`;

function walSize(context: AdvisorContext): number {

    const filename = (context.appKnex.client.config.connection as { filename: string }).filename;
    if (filename === ':memory:') {
        return 0;
    }

    try {
        return Fs.statSync(`${filename}-wal`).size;
    }
    catch {
        return 0;
    }
}

export function createSqliteAdvisor(): DatabaseAdvisorProbe {

    let lastCheckpoint: CheckpointResult | null = null;
    return {
        section: 'sqlite',
        actions: ['checkpoint', 'integrity-check'],
        async report(context) {

            const [row] = await context.statsKnex.raw(PRAGMAS_SQL);
            // Not available as a table-valued pragma function.
            const [autocheckpoint] = await context.statsKnex.raw('PRAGMA wal_autocheckpoint');
            const pageSize = Number(row.page_size);
            const pages = Number(row.page_count);
            const free = Number(row.freelist_count);
            const ratio = pages ? free / pages : 0;
            const threshold = Number(autocheckpoint.wal_autocheckpoint) * pageSize;
            const wal = walSize(context);
            return {
                wal: {
                    journal_mode: String(row.journal_mode),
                    size_bytes: wal,
                    checkpoint_threshold_bytes: threshold,
                    over_threshold: threshold > 0 && wal > threshold,
                    last_checkpoint: lastCheckpoint
                },
                freelist: {
                    free_pages: free,
                    page_count: pages,
                    ratio: Math.round(ratio * 10_000) / 10_000,
                    reclaimable_bytes: free * pageSize,
                    hint: ratio > FREELIST_HINT_RATIO
                        ? `${Math.round(ratio * 100)} % of the file is free pages: VACUUM (with the server stopped or during a quiet hour) would return them to the file system.`
                        : null
                },
                integrity: integrityOf(await context.integrityChecks?.latest() ?? null)
            };
        },
        async act(context, request: AdvisorAction) {

            if (request.action === 'checkpoint') {
                const [result] = await context.statsKnex.raw('PRAGMA wal_checkpoint(PASSIVE)');
                lastCheckpoint = {
                    at: new Date().toISOString(),
                    busy: Number(result.busy) !== 0,
                    log_frames: Number(result.log),
                    checkpointed_frames: Number(result.checkpointed)
                };
                return lastCheckpoint.busy
                    ? 'Checkpoint ran but readers or a writer kept it from finishing; it will complete later'
                    : `Checkpoint done: ${lastCheckpoint.checkpointed_frames} of ${lastCheckpoint.log_frames} WAL frames written to the database file`;
            }

            if (request.action === 'integrity-check' && context.integrityChecks) {
                const job = await context.integrityChecks.start(request.mode ?? 'quick');
                return `Integrity check (${job.mode}) started as job ${job.id}`;
            }

            throw new AdvisorError('invalid', `Unknown action "${request.action}" on SQLite (accepted: checkpoint, integrity-check)`);
        }
    };
}
