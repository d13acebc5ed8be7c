// Decorations the plugins add to hapi's server and request objects.

import type { Knex } from 'knex';

import type { AdminSessions, AuthGate } from './auth';
import type { Config } from './config';
import type { RetryOptions } from './db/retry';
import type { ReadRouting, ReplicaSet } from './db/replicas';
import type { DatabaseEngine } from './db/types';
import type { Models } from './models';
import type { JobRunner } from './jobs/runner';
import type { FullTextSearch } from './search/types';
import type { Upkeep } from './upkeep';

declare module '@hapi/hapi' {
    interface Server {
        /** The process-wide knex instance (db-engine). */
        knex: Knex;
        /** Objection models bound to that knex (db-engine). */
        models: Models;
        /** Dialect, pool settings and redacted target (db-engine). */
        db: DatabaseEngine;
        /** Read replicas: rotation, lag, consistency tokens (db-engine; none configured: empty). */
        replicas: ReplicaSet;
        /** Runs a whole transaction again on serialization failures/deadlocks/busy (db-engine). */
        withRetry<T>(work: (attempt: number) => Promise<T>, options?: RetryOptions): Promise<T>;
        /** The full-text search of the active dialect (fts-sqlite / fts-postgres). */
        search: FullTextSearch;
        /** Periodic work, one instance at a time (upkeep). */
        upkeep: Upkeep;
        /** Background jobs in the database (jobs). */
        jobs: JobRunner;
        /** Validated configuration (core). */
        config: Config;
        adminTokenConfigured(): boolean;
        verifyAdminToken(candidate: string): boolean;
        /** Console login sessions (admin-auth, only when the console is on and a token is set). */
        adminSessions: AdminSessions;
        /** Every credential check goes through it: the database failure throttle (admin-auth). */
        authGate: AuthGate;
    }

    interface Request {
        knex: Knex;
        models: Models;
        /** Session cookie helpers (@hapi/cookie). */
        cookieAuth: {
            set(session: object): void;
            clear(): void;
        };
    }

    interface PluginSpecificConfiguration {
        /** CSRF per route (server/csrf.ts): true issues a token; { restful: false } checks the `crumb` form field instead of the header; false turns the check off. */
        crumb?: boolean | { restful?: boolean };
    }

    interface RouteOptionsApp {
        /** 'replica': a GET route whose reads may come from a read replica in rotation (db-engine). */
        reads?: 'replica' | 'primary';
    }

    interface PluginsStates {
        /** Where this request reads (db-engine). */
        'db-engine'?: ReadRouting;
        /** This request's CSRF token, when the route issues one (server/csrf.ts). */
        crumb?: string;
    }
}
