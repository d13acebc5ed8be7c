// Removes authentication state nobody can use any more: expired console
// sessions and failure counters whose window has ended. Cheap (both by
// index); run by the upkeep (the 'auth-cleanup' task), safe from any
// instance at any time.

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
