// Start-up of several instances at once on one database: the schema
// migrations and the demo seed run under one transaction lock, so one
// instance does them while the others wait, then re-check and find nothing
// left to do. The lock lives in a transaction (safe through a pooler) held on
// one connection while the work uses others; with a one-connection pool
// (SQLite: one instance per file) there is nobody to wait for.

import { setTimeout as sleep } from 'node:timers/promises';

import type { DatabaseEngine } from './types';

export interface StartupLockOptions {
    /** Give up waiting after this long (a migration on a large library can take minutes). */
    waitMs?: number;
    pollMs?: number;
    /** Told once when this instance has to wait for another one. */
    onWait?: () => void;
}

export class StartupLockTimeoutError extends Error {}

const KEY = 'startup:migrate-and-seed';

export async function withStartupLock<T>(engine: DatabaseEngine, work: () => Promise<T>, options: StartupLockOptions = {}): Promise<T> {

    if (engine.pool.max < 2) {
        return await work();
    }

    const waitMs = options.waitMs ?? 30 * 60_000;
    const pollMs = options.pollMs ?? 250;
    const deadline = Date.now() + waitMs;
    let told = false;
    for (;;) {
        const trx = await engine.knex.transaction();
        let locked = false;
        try {
            locked = await engine.dialect.tryTransactionLock(trx, KEY);
            if (locked) {
                return await work();
            }
        }
        finally {
            await trx.rollback().catch(() => {});
        }

        if (Date.now() > deadline) {
            throw new StartupLockTimeoutError(`another instance has been migrating or seeding the database for over ${Math.round(waitMs / 1000)} s; start again when it has finished`);
        }

        if (!told) {
            told = true;
            options.onWait?.();
        }

        // Polling a try-lock (instead of waiting on the lock) keeps the
        // statement timeout from cancelling a long wait.
        await sleep(pollMs + Math.floor(Math.random() * pollMs));
    }
}
