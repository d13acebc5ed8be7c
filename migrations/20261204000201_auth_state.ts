// What authentication needs to survive a restart and to be the same on every
// instance: console login sessions, failure counters of the login/bearer
// throttle, and API tokens. Secrets are stored only as SHA-256 digests: a
// copy of the database (a backup) lets nobody log in or call the API.

import type { Knex } from 'knex';

import { dialectOf } from '../server/db/engine';

export async function up(knex: Knex): Promise<void> {

    const dialect = dialectOf(knex);
    const timestamp = (table: Knex.CreateTableBuilder, name: string) => table.timestamp(name, { useTz: true, precision: 3 });

    await knex.schema.createTable('console_sessions', (table) => {

        // SHA-256 (hex) of the session id the sealed cookie carries.
        table.string('id_hash', 64).primary();
        timestamp(table, 'created_at').notNullable().defaultTo(dialect.nowDefault(knex));
        timestamp(table, 'expires_at').notNullable();
        // The cleanup deletes by expiry.
        table.index(['expires_at'], 'console_sessions_expires_at_idx');
    });

    await knex.schema.createTable('auth_failures', (table) => {

        // What the failures are counted under: `address:<ip or /64>` or `device:<id>`.
        table.string('subject', 200).primary();
        table.integer('failures').notNullable();
        timestamp(table, 'window_ends_at').notNullable();
        // The cleanup deletes by the end of the window.
        table.index(['window_ends_at'], 'auth_failures_window_ends_at_idx');
    });

    await knex.schema.createTable('api_tokens', (table) => {

        table.uuid('id').primary();
        table.string('name', 100).notNullable();
        // SHA-256 (hex) of the token; unique: a request's token is looked up by it.
        table.string('token_hash', 64).notNullable().unique({ indexName: 'api_tokens_token_hash_key' });
        // The token's first characters, so a listing can say which token is which.
        table.string('hint', 16).notNullable();
        timestamp(table, 'created_at').notNullable().defaultTo(dialect.nowDefault(knex));
        timestamp(table, 'last_used_at');
        timestamp(table, 'revoked_at');
    });

    // One active token per name; a revoked token's name can be used again.
    await knex.raw('CREATE UNIQUE INDEX api_tokens_active_name_key ON api_tokens (name) WHERE revoked_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {

    for (const table of ['api_tokens', 'auth_failures', 'console_sessions']) {
        await knex.schema.dropTableIfExists(table);
    }
}
