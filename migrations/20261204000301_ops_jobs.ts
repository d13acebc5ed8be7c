// Background jobs (backups, data migrations) as rows, so every instance sees
// every job and the database, not a process, decides which one may run. The
// `ops_` prefix keeps the table out of data migrations (bookkeeping, like
// knex_*): a library moved to another database does not take its job history.

import type { Knex } from 'knex';

import { dialectOf } from '../server/db/engine';

export async function up(knex: Knex): Promise<void> {

    const dialect = dialectOf(knex);
    const timestamp = (table: Knex.CreateTableBuilder, name: string) => table.timestamp(name, { useTz: true, precision: 3 });

    await knex.schema.createTable('ops_jobs', (table) => {

        table.uuid('id').primary();
        // backup | data-migration
        table.string('kind', 32).notNullable();
        // backup: create | verify | restore; data-migration: migrate | dry-run
        table.string('operation', 32).notNullable();
        // What the job works on, as a key: one running job per (kind, target).
        table.string('target', 1024).notNullable();
        table.enu('state', ['running', 'succeeded', 'failed', 'cancelled']).notNullable().defaultTo('running');
        // The instance that runs the job (host, pid and a random part).
        table.string('owner', 200).notNullable();
        table.boolean('cancel_requested').notNullable().defaultTo(false);
        table.jsonb('params');
        table.jsonb('progress');
        table.jsonb('result');
        table.text('error');
        timestamp(table, 'started_at').notNullable().defaultTo(dialect.nowDefault(knex));
        timestamp(table, 'heartbeat_at').notNullable().defaultTo(dialect.nowDefault(knex));
        // The owner renews this while it runs the job; once it has passed,
        // any instance marks the job failed (its owner died).
        timestamp(table, 'lease_expires_at').notNullable();
        timestamp(table, 'finished_at');
        // Recent jobs of a kind, newest first (lists, panels).
        table.index(['kind', 'started_at'], 'ops_jobs_kind_started_at_idx');
    });

    // At most one running job per kind and target across every instance: the
    // second INSERT fails, whichever instance tries it (no check-then-insert race).
    await knex.raw(`CREATE UNIQUE INDEX ops_jobs_one_running_idx ON ops_jobs (kind, target) WHERE state = 'running'`);
    // Lease expiry looks only at running jobs.
    await knex.raw(`CREATE INDEX ops_jobs_running_lease_idx ON ops_jobs (lease_expires_at) WHERE state = 'running'`);
}

export async function down(knex: Knex): Promise<void> {

    await knex.schema.dropTableIfExists('ops_jobs');
}
