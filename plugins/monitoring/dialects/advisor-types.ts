// What each dialect's database advisor provides: a report of what deserves an
// operator's attention, and the few actions that act on it.

import type { Knex } from 'knex';

import type { IntegrityChecks } from '../integrity-checks';

export interface AdvisorContext {
    /** Connection used only by monitoring. */
    statsKnex: Knex;
    /** The application's knex (its connection settings, its file). */
    appKnex: Knex;
    /** application_name of this server's own PostgreSQL connections. */
    applicationName: string;
    /** SQLite's integrity checks, run as jobs (null on PostgreSQL). */
    integrityChecks: IntegrityChecks | null;
}

export interface AdvisorAction {
    action: string;
    /** Backend to cancel or terminate (PostgreSQL). */
    pid?: number;
    /** Table to analyze (PostgreSQL). */
    table?: string;
    /** Integrity check depth (SQLite). */
    mode?: 'quick' | 'full';
}

export type AdvisorErrorKind = 'invalid' | 'not-found' | 'unavailable' | 'busy';

export class AdvisorError extends Error {

    constructor(readonly kind: AdvisorErrorKind, message: string) {

        super(message);
        this.name = 'AdvisorError';
    }
}

export interface DatabaseAdvisorProbe {
    readonly section: 'postgres' | 'sqlite';
    /** The actions `act` accepts. */
    readonly actions: readonly string[];
    report(context: AdvisorContext): Promise<Record<string, unknown>>;
    /** Carries out an action; the message says what was done. */
    act(context: AdvisorContext, request: AdvisorAction): Promise<string>;
}
