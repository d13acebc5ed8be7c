// Idempotency keys of write requests: a client that lost the answer to a
// POST (timeout, lost connection: "the outcome is unknown") sends it again
// with the same Idempotency-Key and gets the first answer back instead of a
// second resource. Kept in the database, so every instance and a restart see
// them; the key row is written in the same transaction as the change, so
// either both exist or neither does.

import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {

    await knex.schema.createTable('idempotency_keys', (table) => {

        table.string('key', 200).primary();
        // SHA-256 of method, path and body: the same key with another request is refused.
        table.string('fingerprint', 64).notNullable();
        table.integer('status_code');
        table.text('response_body');
        table.string('location', 2000);
        table.timestamp('created_at', { useTz: true, precision: 3 }).notNullable();
        table.timestamp('expires_at', { useTz: true, precision: 3 }).notNullable();
        // Expired keys are deleted by range.
        table.index(['expires_at'], 'idempotency_keys_expires_at_idx');
    });
}

export async function down(knex: Knex): Promise<void> {

    await knex.schema.dropTableIfExists('idempotency_keys');
}
