// Removes authentication state nobody can use any more: expired console
// sessions and failure counters whose window has ended. Cheap (both by
// index); safe to run from any instance at any time.

import type { Knex } from 'knex';

export interface AuthCleanupReport {
    sessions: number;
    failures: number;
}

export async function deleteExpiredAuthState(knex: Knex, now = Date.now()): Promise<AuthCleanupReport> {

    const instant = new Date(now).toISOString();
    const sessions = await knex('console_sessions').where('expires_at', '<=', instant).delete();
    const failures = await knex('auth_failures').where('window_ends_at', '<=', instant).delete();
    return { sessions, failures };
}

/**
 * Runs deleteExpiredAuthState at most once per interval in this process (the
 * console login calls it) until the upkeep worker takes the job over.
 */
export function cleanupAtMostEvery(intervalMs: number, knex: () => Knex, now: () => number = Date.now): () => Promise<void> {

    let last = -Infinity;
    return async () => {

        if (now() - last < intervalMs) {
            return;
        }

        last = now();
        await deleteExpiredAuthState(knex(), last);
    };
}
