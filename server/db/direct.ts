// Connections that must bypass the pooler (DATABASE_DIRECT_URL): the knex
// CLI, backups, data migration. Each proves it reached PostgreSQL itself.

import type { Knex } from 'knex';
import Pg from 'pg';

import type { Config, PoolOverrides } from '../config';
import { DIRECT_MARKER } from './dialects/postgres';
import { connectionFailureReason, DatabaseUnreachableError, dialectFor, NotDirectError } from './engine';
import { connectionTarget, displayTarget } from './url';

/**
 * The URL to use for work that must bypass the pooler: the configured
 * database's direct URL when `url` names the configured DATABASE_URL,
 * otherwise `url` itself (an explicit target is taken as given).
 */
export function directUrlFor(config: Pick<Config, 'database' | 'directDatabase'>, url: string): string {

    return url.trim() === config.database.url.trim() ? config.directDatabase.url : url;
}

/**
 * Opens one direct connection with the settings of a direct knex config and
 * checks that it reached PostgreSQL itself; throws a message that says what
 * is wrong (unreachable, a pooler in between) instead of the pool timeout
 * ("the pool is probably full") a failed connect otherwise turns into.
 */
export async function assertDirectConnection(connection: Record<string, unknown>, target: string): Promise<void> {

    const client = new Pg.Client(connection);
    client.on('error', () => {});
    try {
        await client.connect();
    }
    catch (error) {
        await client.end().catch(() => {});
        throw new DatabaseUnreachableError(target, connectionFailureReason(error));
    }

    try {
        const { rows } = await client.query('SELECT current_setting($1, true) AS marker', [DIRECT_MARKER]);
        if (rows[0].marker !== 'on') {
            throw new NotDirectError(target);
        }
    }
    finally {
        await client.end().catch(() => {});
    }
}

/**
 * knex settings for the knex CLI (knexfile.ts): the direct primary
 * (DATABASE_DIRECT_URL), at most `max` connections, and a failed connection
 * reported as what it is.
 */
export function directKnexConfig(database: Config['directDatabase'], overrides: PoolOverrides): Knex.Config {

    const dialect = dialectFor(database.type);
    const target = connectionTarget(database);
    dialect.prepareTarget(target);
    const config = dialect.knexConfig(target, overrides, 'direct');
    if (!dialect.connectsToServer) {
        return config;
    }

    // A server that may sit behind a pooler: the first connection proves it does not.
    const connection = config.connection as Record<string, unknown>;
    let checked: Promise<void> | null = null;
    config.connection = async () => {

        checked ??= assertDirectConnection(connection, displayTarget(database));
        await checked;
        return connection as Knex.PgConnectionConfig;
    };
    (config.pool as { propagateCreateError?: boolean }).propagateCreateError = true;
    return config;
}
