// Schema-migration settings shared by knexfile.ts, start-up, the migrator
// plugin and the tests: one migration history for both dialects.

import Path from 'node:path';
import type { Knex } from 'knex';

export const MIGRATIONS_DIR = Path.resolve(__dirname, '..', '..', 'migrations');
export const SEEDS_DIR = Path.resolve(__dirname, '..', '..', 'seeds');

export const migrationConfig: Knex.MigratorConfig = {
    directory: MIGRATIONS_DIR,
    tableName: 'knex_migrations',
    extension: 'ts',
    loadExtensions: ['.ts']
};

export const seedConfig: Knex.SeederConfig = {
    directory: SEEDS_DIR,
    extension: 'ts',
    loadExtensions: ['.ts']
};

export interface MigrationStatus {
    completed: string[];
    pending: string[];
}

export async function migrationStatus(knex: Knex): Promise<MigrationStatus> {

    const [completed, pending] = await knex.migrate.list(migrationConfig) as [Array<{ name: string }>, Array<{ file: string }>];
    return {
        completed: completed.map((entry) => entry.name),
        pending: pending.map((entry) => entry.file)
    };
}
