// PostgreSQL: pool sizing, session settings and SQL that only PostgreSQL speaks.

import type { Knex } from 'knex';
import Pg from 'pg';

import type { PoolOverrides } from '../../config';
import type { ConnectionKind, ConnectionLimit, Dialect, PoolSettings, RawQuery, SessionSettingMismatch } from '../types';
import { postgresUtcToIso } from '../../time';
import { errorCode } from './common';

// The plan (SQLAlchemy) asked for pool_size=20 and max_overflow=40: 20
// connections kept open, up to 40 more opened under a burst and closed again
// when idle. In tarn (knex's pool) that is min=20 (kept) and max=60 (20 + 40);
// connections above min are reaped after idleTimeoutMillis.
const KEPT = 20;
const BURST = 40;

const RETRYABLE = new Set([
    '40001',        // serialization_failure
    '40P01'         // deadlock_detected
]);

// Type parsers for this engine's connections only (never the global pg.types):
// 64-bit counts and numerics come back as numbers, and timestamptz as the
// ISO text SQLite stores, as they do on SQLite.
const INT8 = 20;
const NUMERIC = 1700;
const TIMESTAMPTZ = 1184;
const JSON_OIDS = new Set([114, 3802]);

const defaultParser = Pg.types.getTypeParser as (oid: number, format?: string) => (value: string) => unknown;
const parseTimestamptz = defaultParser(TIMESTAMPTZ);

const typeParsers = {
    getTypeParser(oid: number, format?: string): (value: string) => unknown {

        if (oid === INT8 || oid === NUMERIC) {
            return (value: string) => (value === null ? null : Number(value));
        }

        if (oid === TIMESTAMPTZ && format !== 'binary') {
            // Sessions run in UTC (see sessionSettings), so the text converts
            // without a Date; other shapes (BC, infinity) parse as pg does.
            return (value: string) => (value === null ? null : postgresUtcToIso(value) ?? parseTimestamptz(value));
        }

        return defaultParser(oid, format);
    }
};

/**
 * The settings every session runs with, as PostgreSQL stores them
 * (statement_timeout in ms). Pooled sessions get them as role defaults in
 * the database (applySessionDefaults): a transaction-mode pooler refuses the
 * startup `options` (PgBouncer: "unsupported startup parameter") and cannot
 * keep a session SET, since the next transaction may run on another server
 * connection.
 */
function sessionSettings(settings: PoolSettings): Record<string, string> {

    return {
        TimeZone: 'UTC',
        default_transaction_isolation: 'read committed',
        statement_timeout: String(settings.statementTimeoutMs ?? 0)
    };
}

/** A placeholder setting only a direct connection's startup packet carries. */
export const DIRECT_MARKER = 'neo_alexandria.direct';

// First key of this application's advisory locks ("NA").
const ADVISORY_NAMESPACE = 0x4e41;

// The data migrator's connections: JSON stays the text PostgreSQL wrote, so a
// number beyond a double's precision reaches the other side digit for digit.
const jsonTextParsers = {
    getTypeParser(oid: number, format?: string) {

        return JSON_OIDS.has(oid) && format !== 'binary' ? (value: string) => value : typeParsers.getTypeParser(oid, format);
    }
};

// Marks the moment a pooled connection was last checked, for the pre-ping.
const lastChecked = Symbol('lastChecked');

export const postgres: Dialect = {
    type: 'postgres',
    connectsToServer: true,

    poolSettings(overrides: PoolOverrides): PoolSettings {

        const max = overrides.max ?? KEPT + BURST;
        return {
            min: Math.min(overrides.min ?? KEPT, max),
            max,
            recycleSeconds: overrides.recycleSeconds ?? 3600,
            idleTimeoutMs: overrides.idleTimeoutMs ?? 30_000,
            acquireTimeoutMs: overrides.acquireTimeoutMs ?? 10_000,
            statementTimeoutMs: overrides.statementTimeoutMs ?? 30_000,
            prePingIdleMs: overrides.prePingIdleMs ?? 1_000
        };
    },

    knexConfig(target: string, overrides: PoolOverrides, kind: ConnectionKind = 'pooled'): Knex.Config {

        const settings = this.poolSettings(overrides);
        const connection: Record<string, unknown> = {
            connectionString: target,
            // A startup parameter PgBouncer passes on and keeps per client.
            application_name: overrides.applicationName ?? 'neo-alexandria',
            keepAlive: true,
            types: overrides.jsonAsText ? jsonTextParsers : typeParsers
        };
        if (kind === 'direct') {
            // Straight to the server: the settings travel in the startup
            // packet, with a marker that tells a direct session from one a
            // pooler accepted but dropped the options of (isDirectSession).
            connection.options = Object.entries({ ...sessionSettings(settings), [DIRECT_MARKER]: 'on' })
                .map(([name, value]) => `-c ${name}=${value.replace(/ /g, '\\ ')}`)
                .join(' ');
        }

        return {
            client: 'pg',
            connection: connection as Knex.PgConnectionConfig,
            acquireConnectionTimeout: settings.acquireTimeoutMs,
            pool: {
                min: settings.min,
                max: settings.max,
                idleTimeoutMillis: settings.idleTimeoutMs,
                acquireTimeoutMillis: settings.acquireTimeoutMs,
                createTimeoutMillis: settings.acquireTimeoutMs,
                propagateCreateError: false,
                // Recycle after the lifetime, with jitter so the kept connections
                // do not all reconnect in the same second.
                maxConnectionLifetimeMillis: settings.recycleSeconds! * 1000,
                maxConnectionLifetimeJitterMillis: Math.min(60_000, settings.recycleSeconds! * 100),
                // Pre-ping: a connection idle for longer than prePingIdleMs is
                // checked with a round trip before a request gets it. A backend
                // that was terminated or a cut network fails here, and the pool
                // replaces the connection instead of handing it out. Busy
                // connections skip the ping, so the hot path pays nothing.
                validate: async (connection: any) => {

                    // One event-loop turn first: a FATAL message or a close that
                    // already reached the socket (backend terminated, server
                    // restarted) is processed and marks the connection disposed.
                    await new Promise((resolve) => setImmediate(resolve));
                    if (connection.__knex__disposed) {
                        return false;
                    }

                    const now = Date.now();
                    const previous = connection[lastChecked] ?? now;
                    connection[lastChecked] = now;
                    if (now - previous < settings.prePingIdleMs!) {
                        return true;
                    }

                    try {
                        await connection.query('SELECT 1');
                        return true;
                    }
                    catch {
                        return false;
                    }
                }
            } as Knex.PoolConfig
        };
    },

    async applySessionDefaults(query: RawQuery, overrides: PoolOverrides): Promise<string[]> {

        const wanted = sessionSettings(this.poolSettings(overrides));
        const changed: string[] = [];
        await query('BEGIN');
        try {
            // Instances starting together would otherwise update the same
            // pg_db_role_setting row at once ("tuple concurrently updated").
            await query(`SELECT pg_advisory_xact_lock(hashtext('neo-alexandria:session-defaults'))`);
            const rows = await query(`
                SELECT unnest(s.setconfig) AS entry
                FROM pg_db_role_setting s
                JOIN pg_roles r ON r.oid = s.setrole
                JOIN pg_database d ON d.oid = s.setdatabase
                WHERE r.rolname = current_user AND d.datname = current_database()`);
            const current = new Map(rows.map((row) => {

                const entry = String(row.entry);
                const at = entry.indexOf('=');
                return [entry.slice(0, at).toLowerCase(), entry.slice(at + 1)] as const;
            }));
            const [{ name: database }] = await query('SELECT current_database() AS name') as Array<{ name: string }>;
            for (const [name, value] of Object.entries(wanted)) {
                if (current.get(name.toLowerCase()) !== value) {
                    // Utility statements take no parameters; the values are ours (an integer and constants).
                    await query(`ALTER ROLE CURRENT_USER IN DATABASE ${Pg.escapeIdentifier(database!)} SET ${name} = ${Pg.escapeLiteral(value)}`);
                    changed.push(name);
                }
            }

            await query('COMMIT');
        }
        catch (error) {
            await query('ROLLBACK').catch(() => {});
            throw error;
        }

        return changed;
    },

    async checkSessionSettings(knex: Knex, overrides: PoolOverrides): Promise<SessionSettingMismatch[]> {

        const wanted: Record<string, string> = {
            ...sessionSettings(this.poolSettings(overrides)),
            application_name: overrides.applicationName ?? 'neo-alexandria'
        };
        const { rows } = await knex.raw('SELECT name, setting FROM pg_settings WHERE name = ANY(?)', [Object.keys(wanted)]);
        const actual = new Map<string, string>(rows.map((row: { name: string; setting: string }) => [row.name.toLowerCase(), row.setting]));
        return Object.entries(wanted)
            .filter(([name, value]) => actual.get(name.toLowerCase()) !== value)
            .map(([name, expected]) => ({ name, expected, actual: actual.get(name.toLowerCase()) ?? '(unknown)' }));
    },

    async connectionLimit(knex: Knex): Promise<ConnectionLimit | null> {

        const { rows: [row] } = await knex.raw(`
            SELECT current_setting('max_connections')::int AS max_connections,
                   current_setting('superuser_reserved_connections')::int AS reserved,
                   r.rolsuper AS superuser, r.rolconnlimit AS role_limit, d.datconnlimit AS database_limit
            FROM pg_roles r, pg_database d
            WHERE r.rolname = current_user AND d.datname = current_database()`);
        const limits: ConnectionLimit[] = [row.superuser ?
            { allowed: row.max_connections, source: `max_connections = ${row.max_connections}` } :
            { allowed: row.max_connections - row.reserved, source: `max_connections = ${row.max_connections} less ${row.reserved} reserved for superusers` }];
        if (row.role_limit >= 0) {
            limits.push({ allowed: row.role_limit, source: `the role's CONNECTION LIMIT ${row.role_limit}` });
        }

        if (row.database_limit >= 0) {
            limits.push({ allowed: row.database_limit, source: `the database's CONNECTION LIMIT ${row.database_limit}` });
        }

        return limits.reduce((lowest, limit) => (limit.allowed < lowest.allowed ? limit : lowest));
    },

    async probeConnection() {

        // Connecting already ran the start-up exchange with the server.
    },

    connectionHint(): string {

        // connectionFailureReason (engine.ts) already names createdb and PgBouncer.
        return '';
    },

    jsonArrayContains(knex: Knex, column: string, values: readonly string[]): Knex.Raw {

        // @> on jsonb uses the jsonb_path_ops GIN index.
        return knex.raw('?? @> ?::jsonb', [column, JSON.stringify(values)]);
    },

    lockForUpdate(query) {

        return query.forUpdate();
    },

    isRetryable(error: unknown): boolean {

        return RETRYABLE.has(errorCode(error) ?? '');
    },

    nowDefault(knex: Knex): Knex.Raw {

        return knex.raw('now()');
    },

    uuidDefault(knex: Knex): Knex.Raw {

        return knex.raw('uuid_generate_v4()');
    },

    async databaseSize(knex: Knex): Promise<number> {

        const { rows } = await knex.raw('SELECT pg_database_size(current_database()) AS size');
        return Number(rows[0].size);
    },

    async serverVersion(knex: Knex): Promise<string> {

        const { rows } = await knex.raw('SHOW server_version');
        return `PostgreSQL ${rows[0].server_version}`;
    },

    async tryTransactionLock(trx: Knex.Transaction, key: string): Promise<boolean> {

        // The two-key form keeps these locks apart from single-key ones
        // (search_champions_refresh() takes hashtext of its own name).
        const { rows } = await trx.raw('SELECT pg_try_advisory_xact_lock(?, hashtext(?)) AS locked', [ADVISORY_NAMESPACE, key]);
        return rows[0].locked === true;
    },

    async isStandby(knex: Knex): Promise<boolean> {

        const { rows } = await knex.raw('SELECT pg_is_in_recovery() AS standby');
        return rows[0].standby === true;
    },

    prepareTarget(): void {

        // A server to connect to: nothing to create.
    },

    async reachedServer(query: RawQuery): Promise<boolean> {

        const [row] = await query('SELECT current_setting($1, true) AS marker', [DIRECT_MARKER]);
        return row?.marker === 'on';
    }
};
