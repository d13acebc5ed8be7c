// Schema-migration control for the console: knex's own migrator API on the
// server's database, with knex's migration lock respected.

import type { Knex } from 'knex';

import { dialectOf } from '../../server/db/engine';
import { migrationConfig, migrationStatus } from '../../server/db/migrations';

export interface SchemaStatus {
    completed: string[];
    pending: string[];
    /** knex_migrations_lock is held: another migration is running (or one died holding it). */
    locked: boolean;
}

export interface SchemaChange {
    batch: number;
    migrations: string[];
}

export class MigrationBusyError extends Error {

    constructor() {

        super('Another schema migration holds the knex migration lock. Wait for it to finish; if none is running (a migration process died), release it with `node --import tsx node_modules/knex/bin/cli.js --knexfile knexfile.ts migrate:unlock` (same DATABASE_URL).');
        this.name = 'MigrationBusyError';
    }
}

/** The database is a read-only hot standby: no migration can run there, lock or not. */
export class ReadOnlyStandbyError extends Error {

    constructor() {

        super('The database is a read-only standby (PostgreSQL in recovery): schema migrations cannot run on it. Run them against the primary (DATABASE_URL / DATABASE_DIRECT_URL naming the primary); the standby receives the change by replication.');
        this.name = 'ReadOnlyStandbyError';
    }
}

async function isLocked(knex: Knex): Promise<boolean> {

    const table = `${migrationConfig.tableName}_lock`;
    if (!await knex.schema.hasTable(table)) {
        return false;
    }

    const row = await knex(table).first('is_locked');
    return Boolean(row && Number(row.is_locked));
}

export async function schemaStatus(knex: Knex): Promise<SchemaStatus> {

    const { completed, pending } = await migrationStatus(knex);
    return { completed, pending, locked: await isLocked(knex) };
}

async function guarded<T>(knex: Knex, work: () => Promise<T>): Promise<T> {

    // Before the lock: on a standby, taking it fails as if another process held it.
    if (await dialectOf(knex).isStandby(knex)) {
        throw new ReadOnlyStandbyError();
    }

    if (await isLocked(knex)) {
        throw new MigrationBusyError();
    }

    try {
        return await work();
    }
    catch (error) {
        // knex checks the lock itself too; a race with another process lands here.
        if ((error as Error)?.name === 'MigrationLocked') {
            throw new MigrationBusyError();
        }

        throw error;
    }
}

export function migrateLatest(knex: Knex): Promise<SchemaChange> {

    return guarded(knex, async () => {

        const [batch, migrations] = await knex.migrate.latest(migrationConfig) as [number, string[]];
        return { batch, migrations };
    });
}

export function rollbackLastBatch(knex: Knex): Promise<SchemaChange> {

    return guarded(knex, async () => {

        const [batch, migrations] = await knex.migrate.rollback(migrationConfig) as [number, string[]];
        return { batch, migrations };
    });
}
