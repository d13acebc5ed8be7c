// The database advisor behind GET /monitoring/advisor and its console panel:
// the dialect's report, cached briefly (it reads many catalog views), and the
// dialect's actions, each logged with who asked and when.

import type { Request } from '@hapi/hapi';
import Boom from '@hapi/boom';

import { adminCredentials } from '../../server/auth';
import type { DatabaseEngine } from '../../server/db/types';
import { AdvisorError, type AdvisorAction, type AdvisorContext, type DatabaseAdvisorProbe } from './dialects/advisor-types';
import { createPostgresAdvisor } from './dialects/postgres-advisor';
import { createSqliteAdvisor } from './dialects/sqlite-advisor';

export { AdvisorError } from './dialects/advisor-types';
export type { AdvisorAction } from './dialects/advisor-types';

/** A report younger than this is served again: the panel refreshes, people click. */
export const ADVISOR_CACHE_MS = 5_000;

export interface AdvisorReport {
    database_type: DatabaseEngine['type'];
    sampled_at: string;
    actions: readonly string[];
    postgres?: Record<string, unknown>;
    sqlite?: Record<string, unknown>;
}

const advisors: Record<DatabaseEngine['type'], () => DatabaseAdvisorProbe> = {
    postgres: createPostgresAdvisor,
    sqlite: createSqliteAdvisor
};

export class DatabaseAdvisor {

    private readonly probe: DatabaseAdvisorProbe;
    private cached: { at: number; report: Promise<AdvisorReport> } | null = null;

    constructor(private readonly engine: DatabaseEngine, private readonly context: AdvisorContext) {

        this.probe = advisors[engine.type]();
    }

    get actions(): readonly string[] {

        return this.probe.actions;
    }

    /** The cached report, or a new one when it is older than ADVISOR_CACHE_MS or `fresh` is asked for. */
    report(fresh = false): Promise<AdvisorReport> {

        const now = Date.now();
        if (fresh || !this.cached || now - this.cached.at > ADVISOR_CACHE_MS) {
            const report = this.probe.report(this.context).then((section) => ({
                database_type: this.engine.type,
                sampled_at: new Date().toISOString(),
                actions: this.probe.actions,
                [this.probe.section]: section
            }));
            this.cached = { at: now, report };
            // A failed read is not served again.
            report.catch(() => {

                this.cached = null;
            });
        }

        return this.cached.report;
    }

    /** Runs an action for an admin request; the audit line names the credential and the target. */
    async act(request: Request, action: AdvisorAction): Promise<string> {

        const credentials = adminCredentials(request);
        const who = credentials?.via === 'session' ? 'console session' : 'admin token';
        try {
            const message = await this.probe.act(this.context, action);
            this.cached = null;
            request.log(['audit', 'advisor', 'info'], { msg: `Advisor action ${action.action}: ${message}`, action: action.action, pid: action.pid, table: action.table, by: who });
            return message;
        }
        catch (error) {
            request.log(['audit', 'advisor', 'warn'], { msg: `Advisor action ${action.action} refused`, action: action.action, pid: action.pid, table: action.table, by: who });
            throw advisorBoom(error);
        }
    }
}

const STATUS: Record<AdvisorError['kind'], (message: string) => Boom.Boom> = {
    invalid: (message) => Boom.badRequest(message),
    'not-found': (message) => Boom.notFound(message),
    unavailable: (message) => Boom.conflict(message),
    busy: (message) => Boom.conflict(message)
};

/** Advisor errors carry their status; a database error goes to the one error mapper (a rethrow). */
export function advisorBoom(error: unknown): unknown {

    return error instanceof AdvisorError ? STATUS[error.kind](error.message) : error;
}
