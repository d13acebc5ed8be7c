// Keeps the pool's kept base (DB_POOL_MIN) open. tarn, knex's pool, opens
// connections only on demand and merely spares `min` of them from the idle
// reaper: left alone, a fresh server holds one or two connections, and every
// connection closed as dead or recycled lowers the base until the next burst.

import type { Knex } from 'knex';

/** The parts of knex's client and tarn pool this module uses. */
interface PoolClient {
    pool: {
        min: number;
        numUsed(): number;
        numFree(): number;
        numPendingCreates(): number;
        on(event: 'destroySuccess', listener: () => void): void;
        removeListener(event: 'destroySuccess', listener: () => void): void;
    } | undefined;
    acquireConnection(): Promise<unknown>;
    releaseConnection(connection: unknown): Promise<unknown>;
}

export interface PoolWarmer {
    /** Opens connections up to the kept base; resolves once they are open (or failed). */
    warm(): Promise<void>;
    /** Stops refilling (before the pool is destroyed). */
    stop(): void;
}

/**
 * Opens connections up to `min` now and again after any connection closes.
 * `onError` hears why connections could not be opened (the first reason and
 * how many failed); the pool opens on demand as before, so a failed refill
 * costs nothing but the log line.
 */
export function createPoolWarmer(knex: Knex, onError: (error: unknown, failures: number) => void): PoolWarmer {

    const client = knex.client as unknown as PoolClient;
    let stopped = false;
    let running: Promise<void> | null = null;

    const fill = async (): Promise<void> => {

        // Closes may land while a round runs: a few rounds catch up with them.
        for (let round = 0; round < 3 && !stopped && client.pool; ++round) {
            const pool = client.pool;
            const missing = pool.min - (pool.numUsed() + pool.numFree() + pool.numPendingCreates());
            if (missing <= 0) {
                return;
            }

            // The pool hands out idle connections before it opens new ones:
            // checking those out too makes it open the missing ones.
            const wanted = pool.numFree() + missing;
            const acquired = await Promise.allSettled(Array.from({ length: wanted }, () => client.acquireConnection()));
            const failures: unknown[] = [];
            for (const result of acquired) {
                if (result.status === 'fulfilled') {
                    await client.releaseConnection(result.value);
                }
                else {
                    failures.push(result.reason);
                }
            }

            // One line per attempt, not one per connection, while the database is away.
            if (failures.length) {
                onError(failures[0], failures.length);
                return;
            }
        }
    };

    const warm = (): Promise<void> => {

        running ??= fill().finally(() => (running = null));
        return running;
    };

    // After a close the pool's own bookkeeping settles first.
    const refill = () => setImmediate(() => void warm());
    client.pool?.on('destroySuccess', refill);

    return {
        warm,
        stop() {

            stopped = true;
            client.pool?.removeListener('destroySuccess', refill);
        }
    };
}
