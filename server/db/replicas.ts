// Read replicas (DATABASE_REPLICA_URLS): one pooled engine per streaming
// standby, a sampler that measures how far each is behind the primary, and
// the choice of a replica for a read. A replica serves reads only while it
// answers, is a standby, and is no further behind than REPLICA_MAX_LAG_MS; a
// read that carries a consistency token (the primary's WAL position after a
// write) goes to a replica only once that replica has replayed past it.

import type { PoolOverrides } from '../config';
import { createDatabaseEngine, type EngineOptions } from './engine';
import type { DatabaseEngine } from './types';
import { redactSecrets } from './url';

/** Why a replica is in or out of the rotation. */
export type ReplicaState = 'starting' | 'in-rotation' | 'lagging' | 'unreachable' | 'not-a-standby';

export interface ReplicaStatus {
    /** Redacted URL. */
    target: string;
    /** What the server said it is at the last sample ('unknown' before one answered). */
    role: 'standby' | 'primary' | 'unknown';
    state: ReplicaState;
    inRotation: boolean;
    /** WAL the replica has still to replay, in bytes (null when not known). */
    lagBytes: number | null;
    /** How stale its data may be, in seconds (0 when it has replayed all the primary wrote). */
    lagSeconds: number | null;
    /** pg_last_wal_replay_lsn() at the last sample. */
    replayLsn: string | null;
    sampledAt: string | null;
    /** The last failure, credentials removed. */
    error: string | null;
    /** Reads routed to it since start (including those that fell back to the primary afterwards). */
    reads: number;
    /** Reads it failed that the primary answered instead. */
    fallbacks: number;
}

export interface Replica {
    readonly engine: DatabaseEngine;
    status(): ReplicaStatus;
}

/** Where a request reads: the replica it was given, or the primary after a replica failed it. */
export interface ReadRouting {
    replica?: Replica;
    primary?: boolean;
}

export interface ReplicaSet {
    readonly replicas: readonly Replica[];
    readonly maxLagMs: number;
    /**
     * A replica to read from, or null for the primary: one in rotation that
     * has replayed at least up to `token` (a WAL position), when given.
     */
    pick(token: bigint | null): Replica | null;
    /** A read on `replica` failed: out of the rotation until a sample finds it well again. */
    markFailed(replica: Replica, error: unknown): void;
    /** The primary's current WAL position (a consistency token). */
    currentLsn(): Promise<string>;
    /** Samples every replica once (the timer calls it). */
    sample(): Promise<void>;
    /** Starts sampling every intervalMs (unref'd); sample() runs once first. */
    start(): Promise<void>;
    stop(): void;
    status(): ReplicaStatus[];
    destroy(): Promise<void>;
}

const LSN = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i;

/** A PostgreSQL WAL position ("16/B374D848") as a number, or null when it is not one. */
export function parseLsn(text: unknown): bigint | null {

    const match = typeof text === 'string' ? LSN.exec(text.trim()) : null;
    return match ? (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`) : null;
}

/** Sampling cadence for a lag bound: at least four samples within it, at most one a second. */
export function sampleIntervalFor(maxLagMs: number): number {

    return Math.max(100, Math.min(1000, Math.floor(maxLagMs / 4)));
}

export interface ReplicaSetOptions {
    urls: readonly string[];
    maxLagMs: number;
    pool: PoolOverrides;
    engine?: EngineOptions;
    intervalMs?: number;
    /** A sample slower than this counts as unreachable. */
    sampleTimeoutMs?: number;
    onChange?: (status: ReplicaStatus, previous: ReplicaState) => void;
}

interface ReplicaInternals extends Replica {
    state: ReplicaState;
    role: ReplicaStatus['role'];
    replayLsn: bigint | null;
    replayLsnText: string | null;
    lagBytes: number | null;
    lagMs: number | null;
    sampledAt: Date | null;
    /** When the primary was last seen at a WAL position this replica had replayed. */
    caughtUpAt: number | null;
    error: string | null;
    reads: number;
    fallbacks: number;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {

    let timer: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {

        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createReplicaSet(primary: DatabaseEngine, options: ReplicaSetOptions): ReplicaSet {

    const intervalMs = options.intervalMs ?? sampleIntervalFor(options.maxLagMs);
    const sampleTimeoutMs = options.sampleTimeoutMs ?? Math.max(2000, intervalMs * 2);
    const replicas: ReplicaInternals[] = options.urls.map((url) => {

        // Replicas open connections on demand; their pools keep none.
        const engine = createDatabaseEngine(url, { ...options.pool, min: 0 }, options.engine);
        const replica: ReplicaInternals = {
            engine,
            state: 'starting',
            role: 'unknown',
            replayLsn: null,
            replayLsnText: null,
            lagBytes: null,
            lagMs: null,
            sampledAt: null,
            caughtUpAt: null,
            error: null,
            reads: 0,
            fallbacks: 0,
            status: () => ({
                target: engine.target,
                role: replica.role,
                state: replica.state,
                inRotation: replica.state === 'in-rotation',
                lagBytes: replica.lagBytes,
                lagSeconds: replica.lagMs === null ? null : replica.lagMs / 1000,
                replayLsn: replica.replayLsnText,
                sampledAt: replica.sampledAt?.toISOString() ?? null,
                error: replica.error,
                reads: replica.reads,
                fallbacks: replica.fallbacks
            })
        };
        return replica;
    });

    const setState = (replica: ReplicaInternals, state: ReplicaState) => {

        const previous = replica.state;
        replica.state = state;
        if (previous !== state) {
            options.onChange?.(replica.status(), previous);
        }
    };

    let next = 0;
    let timer: NodeJS.Timeout | null = null;
    let running: Promise<void> | null = null;

    const currentLsn = async (): Promise<string> => {

        const { rows } = await primary.knex.raw('SELECT pg_current_wal_lsn()::text AS lsn');
        return rows[0].lsn;
    };

    const sampleOne = async (replica: ReplicaInternals, primaryLsn: bigint | null, primaryAt: number) => {

        let row: Record<string, any>;
        try {
            const { rows } = await withTimeout(replica.engine.knex.raw(`SELECT pg_is_in_recovery() AS standby,
                pg_last_wal_replay_lsn()::text AS replay_lsn,
                (extract(epoch FROM pg_last_xact_replay_timestamp()) * 1000)::float8 AS replayed_at_ms`), sampleTimeoutMs, replica.engine.target);
            row = rows[0];
        }
        catch (error) {
            replica.error = redactSecrets((error as Error)?.message ?? String(error));
            replica.sampledAt = new Date();
            replica.role = 'unknown';
            setState(replica, 'unreachable');
            return;
        }

        const now = Date.now();
        replica.sampledAt = new Date(now);
        replica.error = null;
        if (row.standby !== true) {
            // Promoted, or a primary listed by mistake: its data may have
            // parted from the primary's; never read from it.
            replica.role = 'primary';
            replica.replayLsn = null;
            replica.replayLsnText = null;
            replica.lagBytes = null;
            replica.lagMs = null;
            setState(replica, 'not-a-standby');
            return;
        }

        replica.role = 'standby';
        replica.replayLsnText = row.replay_lsn ?? null;
        replica.replayLsn = parseLsn(row.replay_lsn);
        if (primaryLsn !== null && replica.replayLsn !== null) {
            const behind = primaryLsn - replica.replayLsn;
            replica.lagBytes = behind > 0n ? Number(behind) : 0;
            if (replica.lagBytes === 0) {
                replica.caughtUpAt = primaryAt;
            }
        }
        else {
            replica.lagBytes = null;
        }

        // Nothing to replay: as fresh as the primary, however long ago its
        // last transaction was (an idle primary makes the replay timestamp
        // old). Otherwise its data is at most as old as the last commit it
        // replayed, and at most as old as the last time it had replayed all
        // the primary had written: whichever is nearer.
        if (replica.lagBytes === 0) {
            replica.lagMs = 0;
        }
        else {
            const bounds = [row.replayed_at_ms === null ? null : now - Number(row.replayed_at_ms), replica.caughtUpAt === null ? null : now - replica.caughtUpAt]
                .filter((value): value is number => value !== null);
            replica.lagMs = bounds.length ? Math.max(0, Math.min(...bounds)) : null;
        }

        setState(replica, replica.lagMs !== null && replica.lagMs <= options.maxLagMs ? 'in-rotation' : 'lagging');
    };

    const sample = () => {

        running ??= (async () => {

            const primaryAt = Date.now();
            let primaryLsn: bigint | null = null;
            try {
                primaryLsn = parseLsn(await withTimeout(currentLsn(), sampleTimeoutMs, primary.target));
            }
            catch {
                // A primary that does not answer (or is a standby itself): the
                // replicas' byte lag is unknown, their replay time still counts.
            }

            await Promise.all(replicas.map((replica) => sampleOne(replica, primaryLsn, primaryAt)));
        })().finally(() => {

            running = null;
        });
        return running;
    };

    return {
        replicas,
        maxLagMs: options.maxLagMs,
        pick(token) {

            for (let i = 0; i < replicas.length; ++i) {
                const replica = replicas[(next + i) % replicas.length]!;
                if (replica.state === 'in-rotation' && (token === null || (replica.replayLsn !== null && replica.replayLsn >= token))) {
                    next = (next + i + 1) % replicas.length;
                    ++replica.reads;
                    return replica;
                }
            }

            return null;
        },
        markFailed(replica, error) {

            const internals = replica as ReplicaInternals;
            ++internals.fallbacks;
            internals.error = redactSecrets((error as Error)?.message ?? String(error));
            setState(internals, 'unreachable');
        },
        currentLsn,
        sample,
        async start() {

            if (!replicas.length || timer) {
                return;
            }

            await sample();
            timer = setInterval(() => {

                sample().catch(() => {});
            }, intervalMs);
            timer.unref();
        },
        stop() {

            if (timer) {
                clearInterval(timer);
                timer = null;
            }
        },
        status: () => replicas.map((replica) => replica.status()),
        async destroy() {

            this.stop();
            await running?.catch(() => {});
            await Promise.all(replicas.map((replica) => replica.engine.destroy()));
        }
    };
}
