// The plan phase's look-ups: which tables a run moves and what the target's
// migration history still lacks.

import Fs from 'node:fs';
import type { Knex } from 'knex';

import { migrationConfig, migrationStatus } from '../../server/db/migrations';
import { MigrationAbortedError } from './context';
import type { Catalog } from './types';

/** Like migrationStatus(), without creating knex's tables in a database that has none (knex's list() would). */
export async function targetMigrationStatus(knex: Knex): Promise<{ completed: string[]; pending: string[] }> {

    if (await knex.schema.hasTable(migrationConfig.tableName!)) {
        return await migrationStatus(knex);
    }

    const pending = Fs.readdirSync(migrationConfig.directory as string)
        .filter((name) => (migrationConfig.loadExtensions ?? ['.ts']).some((extension) => name.endsWith(extension)) && !name.endsWith('.d.ts'))
        .sort();
    return { completed: [], pending };
}

export function selectTables(catalog: Catalog, wanted: readonly string[] | undefined): string[] {

    const all = [...catalog.keys()].sort();
    if (!wanted?.length) {
        return all;
    }

    const unknown = wanted.filter((name) => !catalog.has(name));
    if (unknown.length) {
        throw new MigrationAbortedError(`unknown table(s) ${unknown.join(', ')}; the source has: ${all.join(', ')}`);
    }

    return [...new Set(wanted)];
}
