// PostgreSQL: pool sizing, session settings and SQL that only PostgreSQL speaks.

import type { Knex } from 'knex';
import Pg from 'pg';

import type { PoolOverrides } from '../../config';
import type { Dialect, PoolSettings } from '../types';
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
            // Sessions run in UTC (see knexConfig), so the text converts
            // without a Date; other shapes (BC, infinity) parse as pg does.
            return (value: string) => (value === null ? null : postgresUtcToIso(value) ?? parseTimestamptz(value));
        }

        return defaultParser(oid, format);
    }
};

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

    knexConfig(target: string, overrides: PoolOverrides): Knex.Config {

        const settings = this.poolSettings(overrides);
        const sessionOptions = [
            '-c TimeZone=UTC',
            '-c default_transaction_isolation=read\\ committed',
            `-c statement_timeout=${settings.statementTimeoutMs}`
        ].join(' ');

        return {
            client: 'pg',
            connection: {
                connectionString: target,
                application_name: overrides.applicationName ?? 'neo-alexandria',
                options: sessionOptions,
                keepAlive: true,
                types: overrides.jsonAsText ? jsonTextParsers : typeParsers
            } as Knex.PgConnectionConfig,
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

    async probeConnection() {

        // Connecting already ran the start-up exchange with the server.
    },

    connectionHint(_target: string, reason: string): string {

        return /database "[^"]+" does not exist/.test(reason) ? ' (create it first, for example with createdb)' : '';
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
    }
};
