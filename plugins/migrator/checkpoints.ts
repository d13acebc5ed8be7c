// Resume state, stored in the target so it commits in the same transaction
// as the rows it describes: a run killed at any moment resumes exactly where
// its last committed batch ended.

import type { Knex } from 'knex';

import type { DeferredObject } from './dialects/types';

export const CHECKPOINT_TABLE = 'migrator_checkpoints';
export const STATE_TABLE = 'migrator_state';

export interface Checkpoint {
    table: string;
    /** JSON array of the last copied row's key (the page cursor), null before the first batch. */
    lastKey: unknown[] | null;
    rows: number;
    batches: number;
    /** Running source checksum of the copied rows (hex), when validating. */
    checksum: string | null;
    completed: boolean;
}

export async function hasCheckpointTables(knex: Knex): Promise<boolean> {

    return await knex.schema.hasTable(CHECKPOINT_TABLE);
}

export async function ensureCheckpointTables(knex: Knex): Promise<void> {

    if (!await knex.schema.hasTable(CHECKPOINT_TABLE)) {
        await knex.schema.createTable(CHECKPOINT_TABLE, (table) => {

            table.string('table_name', 255).primary();
            table.text('last_key');
            table.bigInteger('rows_copied').notNullable().defaultTo(0);
            table.integer('batches').notNullable().defaultTo(0);
            table.string('checksum', 32);
            table.boolean('completed').notNullable().defaultTo(false);
        });
    }

    if (!await knex.schema.hasTable(STATE_TABLE)) {
        await knex.schema.createTable(STATE_TABLE, (table) => {

            table.string('key', 64).primary();
            table.text('value').notNullable();
        });
    }
}

export async function dropCheckpointTables(knex: Knex): Promise<void> {

    await knex.schema.dropTableIfExists(CHECKPOINT_TABLE);
    await knex.schema.dropTableIfExists(STATE_TABLE);
}

export async function clearCheckpoints(knex: Knex): Promise<void> {

    await knex(CHECKPOINT_TABLE).delete();
    await knex(STATE_TABLE).whereNot('key', 'deferred').delete();
}

export async function loadCheckpoints(knex: Knex): Promise<Map<string, Checkpoint>> {

    const rows = await knex(CHECKPOINT_TABLE).select();
    return new Map(rows.map((row: any) => [row.table_name, {
        table: row.table_name,
        lastKey: row.last_key === null ? null : JSON.parse(row.last_key),
        rows: Number(row.rows_copied),
        batches: Number(row.batches),
        checksum: row.checksum,
        completed: Boolean(row.completed)
    }]));
}

/** The statement that records a checkpoint, as an upsert on the table name. */
export function checkpointUpsert(knex: Knex | Knex.Transaction, checkpoint: Checkpoint): Knex.QueryBuilder {

    return knex(CHECKPOINT_TABLE).insert({
        table_name: checkpoint.table,
        last_key: checkpoint.lastKey === null ? null : JSON.stringify(checkpoint.lastKey),
        rows_copied: checkpoint.rows,
        batches: checkpoint.batches,
        checksum: checkpoint.checksum,
        completed: checkpoint.completed
    }).onConflict('table_name').merge();
}

export async function saveCheckpoint(knex: Knex | Knex.Transaction, checkpoint: Checkpoint): Promise<void> {

    await checkpointUpsert(knex, checkpoint);
}

/** Drops the running checksums of every checkpoint: validation then hashes those tables' source again. */
export async function forgetChecksums(knex: Knex): Promise<void> {

    await knex(CHECKPOINT_TABLE).update({ checksum: null });
}

export async function readState(knex: Knex, key: string): Promise<string | null> {

    const row = await knex(STATE_TABLE).where({ key }).first();
    return row ? row.value : null;
}

export async function writeState(knex: Knex | Knex.Transaction, key: string, value: string): Promise<void> {

    await knex(STATE_TABLE).where({ key }).delete();
    await knex(STATE_TABLE).insert({ key, value });
}

export async function loadDeferred(knex: Knex): Promise<DeferredObject[]> {

    const value = await readState(knex, 'deferred');
    return value ? JSON.parse(value) : [];
}
