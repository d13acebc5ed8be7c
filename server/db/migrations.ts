// Schema-migration settings shared by knexfile.ts, start-up, the migrator
// plugin and the tests: one migration history for both dialects.

import Path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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

/**
 * knex migrate:latest that outlasts a concurrent `npm run migrate` (or an
 * instance without the start-up lock): when knex's own lock is held, or two
 * runs raced to create its bookkeeping tables, it waits and re-checks until
 * the other run has finished. Returns the migrations this call applied.
 */
export async function migrateLatest(knex: Knex, options: { waitMs?: number } = {}): Promise<string[]> {

    const deadline = Date.now() + (options.waitMs ?? 30 * 60_000);
    for (;;) {
        try {
            const [, applied] = await knex.migrate.latest(migrationConfig) as [number, string[]];
            return applied;
        }
        catch (error) {
            if (!isConcurrentMigration(error) || Date.now() > deadline) {
                throw error;
            }
        }

        await sleep(250 + Math.floor(Math.random() * 250));
        if (!(await migrationStatus(knex).catch(() => ({ pending: ['?'] }))).pending.length) {
            return [];
        }
    }
}

/** knex's lock is held, or its bookkeeping tables were being created by another run at the same moment. */
function isConcurrentMigration(error: unknown): boolean {

    const { name, code, message } = (error ?? {}) as { name?: string; code?: string; message?: string };
    return name === 'MigrationLocked' ||
        code === '42P07' ||                                  // relation already exists (knex_migrations)
        (code === '23505' && /knex_migrations/.test(message ?? ''));   // duplicate key (knex_migrations_lock row, pg_type)
}
