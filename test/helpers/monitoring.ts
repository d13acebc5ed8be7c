// Helpers for the monitoring suites: a query that is slow on purpose on each
// dialect, held connections, and polling for figures that settle later.

import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';

import { isPostgres } from './database';

export interface SlowQuery {
    sql: string;
    bindings: Knex.RawBinding[];
}

const COUNT_TO = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT count(*) AS n FROM c';

/**
 * A statement that takes at least `ms`: pg_sleep on PostgreSQL; on SQLite,
 * which cannot sleep, a recursive count calibrated on this machine.
 */
export async function slowQueryOf(knex: Knex, ms: number): Promise<SlowQuery> {

    if (isPostgres) {
        return { sql: 'SELECT pg_sleep(?)', bindings: [ms / 1000] };
    }

    let rows = 200_000;
    for (;;) {
        const started = performance.now();
        await knex.raw(COUNT_TO, [rows]);
        const took = performance.now() - started;
        if (took >= ms) {
            // Twice the work: on a shared machine the same query can run
            // much faster a moment later.
            return { sql: COUNT_TO, bindings: [rows * 2] };
        }

        rows = Math.ceil(rows * Math.min(20, Math.max(1.5, (ms * 1.2) / Math.max(took, 1))));
    }
}

/** Opens `count` transactions, each holding one pool connection. */
export async function holdConnections(knex: Knex, count: number): Promise<Knex.Transaction[]> {

    const held: Knex.Transaction[] = [];
    for (let i = 0; i < count; ++i) {
        held.push(await knex.transaction());
    }

    return held;
}

export async function release(held: Knex.Transaction[]): Promise<void> {

    await Promise.all(held.map((trx) => trx.rollback()));
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000, what = 'condition'): Promise<T> {

    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value !== undefined) {
            return value;
        }

        if (Date.now() > deadline) {
            throw new Error(`Timed out waiting for ${what}`);
        }

        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
