// Background jobs as rows of ops_jobs, shared by every instance on the
// database. The partial unique index on running jobs per (kind, target)
// decides who may start one; a lease the owner renews tells the others it is
// still alive, and a job whose lease has passed is marked failed by whoever
// looks next (a read, a start, the upkeep).

import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

import { isUniqueViolation } from '../errors';
import { redactSecrets } from '../db/url';

export type JobKind = 'backup' | 'data-migration' | 'integrity-check';
export type JobState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobRecord<Progress = unknown, Result = unknown, Params = Record<string, unknown>> {
    id: string;
    kind: JobKind;
    operation: string;
    target: string;
    state: JobState;
    owner: string;
    cancelRequested: boolean;
    params: Params | null;
    progress: Progress | null;
    result: Result | null;
    error: string | null;
    startedAt: string;
    heartbeatAt: string;
    leaseExpiresAt: string;
    finishedAt: string | null;
}

/** Another job of the same kind runs on the same target (on this or another instance). */
export class JobConflictError extends Error {

    constructor(readonly running: JobRecord) {

        super(`a ${running.kind} job is already running on ${running.target}: ${running.operation} job ${running.id} (instance ${running.owner}, started ${running.startedAt}); wait for it to finish`);
        this.name = 'JobConflictError';
    }
}

/** What the owner learns when it renews its lease. */
export type RenewOutcome = 'running' | 'cancel' | 'lost';

export interface JobStoreOptions {
    /** This process (see newInstanceId). */
    instanceId: string;
    /** How long a job stays "running" without a renewal from its owner. */
    leaseMs: number;
    /** Clock (tests move it). Instances compare each other's leases, so their clocks must agree (NTP). */
    now?: () => Date;
}

export interface JobStore {
    readonly instanceId: string;
    readonly leaseMs: number;
    /** Inserts a running job owned by this instance; JobConflictError when one runs on the target. */
    start(kind: JobKind, operation: string, target: string, params?: object | null): Promise<JobRecord>;
    get(id: string): Promise<JobRecord | null>;
    /** Recent jobs of a kind, newest first. */
    recent(kind: JobKind, limit?: number): Promise<JobRecord[]>;
    /** The running job of a kind (on a target, when given). */
    running(kind: JobKind, target?: string): Promise<JobRecord | null>;
    /** Renews the lease and stores the progress; 'lost' when the row is no longer this instance's running job. */
    renew(job: JobRecord, progress?: unknown): Promise<RenewOutcome>;
    finish(job: JobRecord, state: Exclude<JobState, 'running'>, outcome: { result?: unknown; error?: string | null; progress?: unknown }): Promise<void>;
    /** Asks the owner to cancel (it sees the flag at its next renewal); false when the job is not running. */
    requestCancel(id: string): Promise<boolean>;
    /** Marks running jobs whose lease has passed as failed; returns how many (`db`: a transaction to run in). */
    expireStale(db?: Knex): Promise<number>;
}

const TABLE = 'ops_jobs';

type Row = Record<string, any>;

// JSON columns are read as text on both dialects (jsonb would come back
// parsed, json as text), so a stored string is never mistaken for JSON text.
function json(value: unknown): unknown {

    return value === null || value === undefined ? null : JSON.parse(String(value));
}

function iso(value: unknown): string {

    return value instanceof Date ? value.toISOString() : String(value);
}

function toRecord(row: Row): JobRecord {

    return {
        id: row.id,
        kind: row.kind,
        operation: row.operation,
        target: row.target,
        state: row.state,
        owner: row.owner,
        cancelRequested: Boolean(row.cancel_requested),
        params: json(row.params) as JobRecord['params'],
        progress: json(row.progress),
        result: json(row.result),
        error: row.error ?? null,
        startedAt: iso(row.started_at),
        heartbeatAt: iso(row.heartbeat_at),
        leaseExpiresAt: iso(row.lease_expires_at),
        finishedAt: row.finished_at ? iso(row.finished_at) : null
    };
}

// JSON goes in as text: jsonb casts it on PostgreSQL, SQLite stores it.
const text = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));

export function createJobStore(knex: Knex, options: JobStoreOptions): JobStore {

    const columns = [
        'id', 'kind', 'operation', 'target', 'state', 'owner', 'cancel_requested', 'error',
        'started_at', 'heartbeat_at', 'lease_expires_at', 'finished_at',
        ...['params', 'progress', 'result'].map((column) => knex.raw('CAST(?? AS TEXT) AS ??', [column, column]))
    ];

    const now = options.now ?? (() => new Date());
    const at = (offsetMs = 0) => new Date(now().getTime() + offsetMs).toISOString();

    const expireStale = async (db: Knex = knex): Promise<number> => {

        const stamp = at();
        return await db(TABLE)
            .where({ state: 'running' })
            .andWhere('lease_expires_at', '<', stamp)
            .update({
                state: 'failed',
                finished_at: stamp,
                error: knex.raw(`'the instance running this job (' || owner || ') stopped renewing its lease; the job was abandoned'`)
            });
    };

    const running = async (kind: JobKind, target?: string): Promise<JobRecord | null> => {

        await expireStale();
        const query = knex(TABLE).select(columns).where({ kind, state: 'running' });
        if (target !== undefined) {
            query.andWhere({ target });
        }

        const row = await query.orderBy('started_at', 'desc').first();
        return row ? toRecord(row) : null;
    };

    const insert = async (record: JobRecord) => {

        await knex(TABLE).insert({
            id: record.id,
            kind: record.kind,
            operation: record.operation,
            target: record.target,
            state: record.state,
            owner: record.owner,
            cancel_requested: record.cancelRequested,
            params: text(record.params),
            progress: text(record.progress),
            result: text(record.result),
            error: record.error,
            started_at: record.startedAt,
            heartbeat_at: record.heartbeatAt,
            lease_expires_at: record.leaseExpiresAt,
            finished_at: record.finishedAt
        });
    };

    return {
        instanceId: options.instanceId,
        leaseMs: options.leaseMs,
        expireStale,
        running,

        async start(kind, operation, target, params = null) {

            const stamp = at();
            const record: JobRecord = {
                id: randomUUID(),
                kind,
                operation,
                target,
                state: 'running',
                owner: options.instanceId,
                cancelRequested: false,
                params: params as JobRecord['params'],
                progress: null,
                result: null,
                error: null,
                startedAt: stamp,
                heartbeatAt: stamp,
                leaseExpiresAt: at(options.leaseMs),
                finishedAt: null
            };

            // A dead instance's job must not block the target for ever.
            await expireStale();
            try {
                await insert(record);
            }
            catch (error) {
                if (!isUniqueViolation(error)) {
                    throw error;
                }

                const winner = await running(kind, target);
                // The winner may have finished between the two statements: one more try.
                if (!winner) {
                    await insert(record);
                    return record;
                }

                throw new JobConflictError(winner);
            }

            return record;
        },

        async get(id) {

            await expireStale();
            const row = await knex(TABLE).select(columns).where({ id }).first();
            return row ? toRecord(row) : null;
        },

        async recent(kind, limit = 20) {

            await expireStale();
            const rows = await knex(TABLE).select(columns).where({ kind }).orderBy('started_at', 'desc').orderBy('id').limit(limit);
            return rows.map(toRecord);
        },

        async renew(job, progress) {

            const changes: Row = { heartbeat_at: at(), lease_expires_at: at(options.leaseMs) };
            if (progress !== undefined) {
                changes.progress = text(progress);
                job.progress = progress;
            }

            const [mine] = await knex(TABLE).where({ id: job.id, owner: options.instanceId, state: 'running' }).update(changes, ['cancel_requested']);
            if (mine) {
                return mine.cancel_requested ? 'cancel' : 'running';
            }

            const row = await knex(TABLE).where({ id: job.id }).first();
            if (row) {
                // Failed by another instance after the lease passed (this one
                // stalled), or otherwise not ours any more: stop the work.
                return 'lost';
            }

            // The table was replaced under the job (a full restore brings back
            // the backup's rows): the job is still ours, so its row returns.
            await expireStale();
            try {
                await insert({ ...job, heartbeatAt: changes.heartbeat_at, leaseExpiresAt: changes.lease_expires_at });
            }
            catch (error) {
                if (isUniqueViolation(error)) {
                    return 'lost';
                }

                throw error;
            }

            return 'running';
        },

        async finish(job, state, outcome) {

            const changes: Row = {
                state,
                finished_at: at(),
                heartbeat_at: at(),
                result: text(outcome.result),
                error: outcome.error ? redactSecrets(outcome.error) : null
            };
            if (outcome.progress !== undefined) {
                changes.progress = text(outcome.progress);
            }

            const updated = await knex(TABLE).where({ id: job.id, owner: options.instanceId, state: 'running' }).update(changes);
            if (!updated && !(await knex(TABLE).where({ id: job.id }).first())) {
                // Replaced by a restore while it ran: record the outcome anyway.
                await insert({ ...job, state, finishedAt: changes.finished_at, result: outcome.result ?? null, error: changes.error, progress: outcome.progress ?? job.progress });
            }
        },

        async requestCancel(id) {

            await expireStale();
            return (await knex(TABLE).where({ id, state: 'running' }).update({ cancel_requested: true })) > 0;
        }
    };
}
