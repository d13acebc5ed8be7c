// Session settings of pooled connections: made to hold behind a
// transaction-mode pooler (role defaults), checked, and the start-up checks
// that go with them (pool size against the server's limit, named statements).

import type { PoolOverrides } from '../config';
import { DIRECT_MARKER } from './dialects/postgres';
import { assertDirectConnection } from './direct';
import { DatabaseUnreachableError, withRawConnection } from './engine';
import type { DatabaseEngine } from './types';
import { redactSecrets } from './url';

/** What preparing the sessions of a pooled engine found. */
export interface SessionReport {
    /** Settings whose role default this start changed. */
    changed: string[];
    /** Problems the operator should hear about at start-up. */
    warnings: string[];
}

/**
 * Makes the engine's session settings hold on every pooled connection, also
 * behind a transaction-mode pooler, checks that a pooled connection shows
 * them, and that the pool fits what the server allows. `direct` is the
 * server itself when `engine` goes through a pooler (null: it does not); the
 * defaults are changed there, since a connection through the pooler would
 * leave it a server connection that keeps the old values. Call before the
 * pool has opened connections (they keep the settings they were opened with).
 */
export async function prepareSessions(engine: DatabaseEngine, overrides: PoolOverrides, direct: DatabaseEngine | null): Promise<SessionReport> {

    const report: SessionReport = { changed: [], warnings: [] };
    try {
        report.changed = await withRawConnection(direct ?? engine, (query) => engine.dialect.applySessionDefaults(query, overrides));
    }
    catch (error) {
        if (error instanceof DatabaseUnreachableError) {
            throw error;
        }

        report.warnings.push(`Could not make the session settings this role's defaults in the database (${redactSecrets((error as Error).message)}); ` +
            'statement_timeout, TimeZone and default_transaction_isolation may not hold behind a pooler. See README, "Running several instances".');
    }

    const mismatches = await engine.dialect.checkSessionSettings(engine.knex, overrides);
    if (mismatches.length) {
        report.warnings.push(`A pooled connection does not have the configured session settings: ${mismatches.map((m) => `${m.name} is ${m.actual}, expected ${m.expected}`).join('; ')}. ` +
            'Server connections a pooler opened before the settings changed keep the old values until they reconnect (PgBouncer: RECONNECT on its admin console, or server_lifetime).');
    }

    // Named statements only where the pool's own URL reaches the server.
    (engine as { namedStatements: boolean }).namedStatements = !direct && await reachesServer(engine);

    // Behind a pooler the server sees the pooler's connections, not this pool.
    const limit = direct ? null : await engine.dialect.connectionLimit(engine.knex);
    if (limit && engine.pool.max > limit.allowed) {
        report.warnings.push(`DB_POOL_MAX is ${engine.pool.max}, but the server allows only ${limit.allowed} connections (${limit.source}): ` +
            'under load this instance alone would get "too many clients" (answered with 503). Lower DB_POOL_MAX, raise the limit, or put PgBouncer in front (README, "Running several instances").');
    }

    return report;
}

/**
 * Whether a pooled engine's URL is PostgreSQL itself: one connection
 * outside the pool with the direct marker in its startup options, which
 * PgBouncer refuses ("unsupported startup parameter") or, told to ignore
 * `options`, drops.
 */
async function reachesServer(engine: DatabaseEngine): Promise<boolean> {

    if (!engine.dialect.connectsToServer) {
        return false;
    }

    const connection = { ...(engine.knex.client.config.connection as Record<string, unknown>), options: `-c ${DIRECT_MARKER}=on` };
    try {
        await assertDirectConnection(connection, engine.target);
        return true;
    }
    catch {
        return false;
    }
}
