// SQLite advice: the write-ahead log against its checkpoint threshold and the
// last checkpoint's result, free pages a VACUUM would return, and integrity
// checks run on demand beside the server (PRAGMA quick_check/integrity_check
// read the whole file: seconds to minutes on a large library).
//
// SQLite runs one instance, so the check's progress and the last checkpoint
// are kept in this process; they are reports, not state another instance needs.

import Fs from 'node:fs';

import { AdvisorError, type AdvisorAction, type AdvisorContext, type DatabaseAdvisorProbe } from './advisor-types';

/** Free pages above this share of the file get a VACUUM hint. */
export const FREELIST_HINT_RATIO = 0.25;
/** A check reports at most this many problems (integrity_check's own default is 100). */
const MAX_PROBLEMS = 100;

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
    started_at: string | null;
    finished_at: string | null;
    problems: string[];
    error?: string;
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
    let integrity: IntegrityState = { state: 'never', mode: null, started_at: null, finished_at: null, problems: [] };

    const runCheck = async (context: AdvisorContext, mode: 'quick' | 'full') => {

        const engine = context.openEngine();
        try {
            const pragma = mode === 'quick' ? 'quick_check' : 'integrity_check';
            const rows: Array<Record<string, string>> = await engine.knex.raw(`PRAGMA ${pragma}(${MAX_PROBLEMS})`);
            const messages = rows.map((row) => String(Object.values(row)[0]));
            const ok = messages.length === 1 && messages[0] === 'ok';
            integrity = { ...integrity, state: ok ? 'ok' : 'problems', finished_at: new Date().toISOString(), problems: ok ? [] : messages };
        }
        catch (error) {
            integrity = { ...integrity, state: 'failed', finished_at: new Date().toISOString(), error: (error as { code?: string }).code ?? 'the check could not run' };
        }
        finally {
            await engine.destroy();
        }
    };

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
                integrity
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

            if (request.action === 'integrity-check') {
                if (integrity.state === 'running') {
                    throw new AdvisorError('busy', `An integrity check (${integrity.mode}) is already running since ${integrity.started_at}`);
                }

                const mode = request.mode ?? 'quick';
                integrity = { state: 'running', mode, started_at: new Date().toISOString(), finished_at: null, problems: [] };
                void runCheck(context, mode);
                return `Integrity check (${mode}) started`;
            }

            throw new AdvisorError('invalid', `Unknown action "${request.action}" on SQLite (accepted: checkpoint, integrity-check)`);
        }
    };
}
