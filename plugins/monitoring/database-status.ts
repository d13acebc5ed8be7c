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
    sampled_at: string;
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

export class DatabaseStatus {

    private version: string | null = null;

    constructor(private readonly options: DatabaseStatusOptions) {}

    async report(): Promise<DatabaseReport> {

        const { engine, pool, probe, statsKnex, errorCount, replicas } = this.options;
        const report: DatabaseReport = {
            database_type: engine.type,
            version: this.version,
            target: engine.target,
            sampled_at: new Date().toISOString(),
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

        return report;
    }
}
