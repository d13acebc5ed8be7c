// Schema-migration control for the console: knex's own migrator API on the
// server's database, with knex's migration lock respected.

import type { Knex } from 'knex';

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
