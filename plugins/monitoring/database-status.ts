// GET /monitoring/database in one object: which database, how the pool is
// doing, and the dialect's own health figures.

import type { Knex } from 'knex';

import { errorCode } from '../../server/db/dialects/common';
import type { ReplicaStatus } from '../../server/db/replicas';
import type { DatabaseEngine } from '../../server/db/types';
import { createPostgresProbe } from './dialects/postgres';
import { createSqliteProbe } from './dialects/sqlite';
import type { DatabaseProbe, FigureValue } from './dialects/types';
import type { PoolMonitor, PoolStatus } from './pool-monitor';

export interface DatabaseReport {
    database_type: 'postgres' | 'sqlite';
    version: string | null;
    /** Connection target with credentials removed. */
    target: string;
    /** When the database figures (the dialect's section) were read. */
    sampled_at: string;
    /** Their age in seconds when served (0: read for this request). */
    stats_age_s: number;
    pool: PoolStatus;
    postgres?: Record<string, FigureValue>;
    sqlite?: Record<string, FigureValue>;
    /** Set when the database did not answer the statistics query; pool figures are still current. */
    stats_error?: string;
    /** The read replicas (DATABASE_REPLICA_URLS) as last sampled; empty when none are configured. */
    replicas?: ReplicaReport[];
}

export interface ReplicaReport {
    target: string;
    role: ReplicaStatus['role'];
    state: ReplicaStatus['state'];
    in_rotation: boolean;
    lag_bytes: number | null;
    lag_seconds: number | null;
    replay_lsn: string | null;
    sampled_at: string | null;
    reads: number;
    fallbacks: number;
    error: string | null;
}

export function replicaReport(status: ReplicaStatus): ReplicaReport {

    return {
        target: status.target,
        role: status.role,
        state: status.state,
        in_rotation: status.inRotation,
        lag_bytes: status.lagBytes,
        lag_seconds: status.lagSeconds,
        replay_lsn: status.replayLsn,
        sampled_at: status.sampledAt,
        reads: status.reads,
        fallbacks: status.fallbacks,
        error: status.error
    };
}

const probes: Record<DatabaseEngine['type'], () => DatabaseProbe> = {
    postgres: createPostgresProbe,
    sqlite: createSqliteProbe
};

export function probeFor(engine: DatabaseEngine): DatabaseProbe {

    return probes[engine.type]();
}

export interface DatabaseStatusOptions {
    engine: DatabaseEngine;
    pool: PoolMonitor;
    probe: DatabaseProbe;
    statsKnex: Knex;
    errorCount(code: string): number;
    /** The replicas' sampled state (db-engine's replica set). */
    replicas?(): ReplicaStatus[];
}

/** GET /monitoring/database serves database figures up to this old (the sampler reads them every 5 s). */
export const STATS_MAX_AGE_MS = 10_000;

export class DatabaseStatus {

    private version: string | null = null;
    private last: { at: number; report: DatabaseReport } | null = null;

    constructor(private readonly options: DatabaseStatusOptions) {}

    /**
     * The pool figures of this moment with the database figures of the last
     * read (the history sampler's, every few seconds), so a request never
     * waits for the statistics query; a new read when none is younger than
     * STATS_MAX_AGE_MS.
     */
    async cachedReport(now = Date.now()): Promise<DatabaseReport> {

        if (!this.last || now - this.last.at > STATS_MAX_AGE_MS) {
            return await this.report();
        }

        return {
            ...this.last.report,
            stats_age_s: Math.round((now - this.last.at) / 100) / 10,
            pool: this.options.pool.status(),
            replicas: (this.options.replicas?.() ?? []).map(replicaReport)
        };
    }

    /** Reads the database figures now. */
    async report(): Promise<DatabaseReport> {

        const { engine, pool, probe, statsKnex, errorCount, replicas } = this.options;
        const at = Date.now();
        const report: DatabaseReport = {
            database_type: engine.type,
            version: this.version,
            target: engine.target,
            sampled_at: new Date(at).toISOString(),
            stats_age_s: 0,
            pool: pool.status(),
            replicas: (replicas?.() ?? []).map(replicaReport)
        };

        try {
            report.version = this.version ??= await engine.dialect.serverVersion(statsKnex);
            report[probe.section] = await probe.collect({ statsKnex, appKnex: engine.knex, errorCount });
        }
        catch (error) {
            // The code only: driver messages may quote SQL or connection details.
            const code = errorCode(error) ?? (error as Error)?.name ?? 'unknown error';
            report.stats_error = `The database did not answer the statistics query (${code})`;
        }

        this.last = { at, report };
        return report;
    }
}
