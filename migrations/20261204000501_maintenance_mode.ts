// Maintenance mode: one row saying whether the library is read-only. It lives
// in the database, not in a process, so every instance serving the library
// (and a data migration run from another machine) sees the same switch.

import type { Knex } from 'knex';

import { dialectOf } from '../server/db/engine';

export async function up(knex: Knex): Promise<void> {

    const dialect = dialectOf(knex);
    await knex.schema.createTable('maintenance_mode', (table) => {

        // A single row (id 1), so reading the switch is one primary-key lookup.
        table.integer('id').primary();
        table.boolean('enabled').notNullable().defaultTo(false);
        table.string('message', 500);
        table.integer('retry_after_seconds').notNullable().defaultTo(300);
        table.string('changed_by', 100);
        table.timestamp('changed_at', { useTz: true, precision: 3 }).notNullable().defaultTo(dialect.nowDefault(knex));
        table.check('?? = 1', ['id'], 'maintenance_mode_single_row');
    });
    await knex('maintenance_mode').insert({ id: 1, enabled: false });
}

export async function down(knex: Knex): Promise<void> {

    await knex.schema.dropTableIfExists('maintenance_mode');
}
