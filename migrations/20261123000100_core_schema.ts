// The core schema of the library, identical on SQLite and PostgreSQL except
// where a type only exists on one of them (knex maps uuid, boolean, double,
// timestamptz and jsonb to their SQLite counterparts: char(36), boolean,
// float, datetime and json). Every foreign key has the same ON DELETE rule on
// both dialects; every index says why it exists.

import type { Knex } from 'knex';

import { dialectOf } from '../server/db/engine';

const READ_STATUS = ['unread', 'in_progress', 'read', 'archived'];
const INGESTION_STATUS = ['pending', 'processing', 'completed', 'failed'];

export async function up(knex: Knex): Promise<void> {

    const dialect = dialectOf(knex);
    const pg = dialect.type === 'postgres';

    if (pg) {
        // pg_trgm: similarity search for "did you mean" and typo tolerance.
        // uuid-ossp: uuid_generate_v4() as the default of every UUID key.
        await knex.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm');
        await knex.raw('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"');
    }

    const id = (table: Knex.CreateTableBuilder) => {

        const column = table.uuid('id').primary();
        const generated = dialect.uuidDefault(knex);
        if (generated) {
            column.defaultTo(generated);
        }
    };

    // Millisecond precision on PostgreSQL matches the ISO-8601 text SQLite
    // stores, so a value survives a round trip between the two unchanged.
    const timestamp = (table: Knex.CreateTableBuilder, name: string) => table.timestamp(name, { useTz: true, precision: 3 });
    const timestamps = (table: Knex.CreateTableBuilder) => {

        timestamp(table, 'created_at').notNullable().defaultTo(dialect.nowDefault(knex));
        timestamp(table, 'updated_at').notNullable().defaultTo(dialect.nowDefault(knex));
    };

    await knex.schema.createTable('users', (table) => {

        id(table);
        table.string('email', 320).notNullable().unique();
        table.string('display_name', 200);
        table.enu('role', ['reader', 'editor', 'admin']).notNullable().defaultTo('reader');
        timestamps(table);
    });

    await knex.schema.createTable('classification_codes', (table) => {

        table.string('code', 32).primary();
        table.string('label', 300).notNullable();
        table.string('parent_code', 32).references('code').inTable('classification_codes').onDelete('SET NULL').onUpdate('CASCADE');
        timestamps(table);
        // FK: children of a code (tree walks, ON DELETE SET NULL).
        table.index(['parent_code'], 'classification_codes_parent_code_idx');
    });

    for (const name of ['authority_subjects', 'authority_creators', 'authority_publishers']) {
        await knex.schema.createTable(name, (table) => {

            id(table);
            table.string('canonical_name', 500).notNullable().unique();
            table.jsonb('variants').notNullable().defaultTo('[]');
            table.integer('usage_count').notNullable().defaultTo(0);
            timestamps(table);
        });
    }

    await knex.schema.createTable('resources', (table) => {

        id(table);
        table.text('title').notNullable();
        table.text('description');
        table.string('creator', 500);
        table.string('publisher', 500);
        table.string('contributor', 500);
        table.string('type', 64);
        table.string('format', 128);
        table.string('language', 35);
        table.string('identifier', 500);
        table.text('source');
        table.text('coverage');
        table.text('rights');
        table.jsonb('subject').notNullable().defaultTo('[]');
        table.jsonb('relation').notNullable().defaultTo('[]');
        table.string('classification_code', 32).references('code').inTable('classification_codes').onDelete('SET NULL').onUpdate('CASCADE');
        table.double('quality_score').notNullable().defaultTo(0);
        table.enu('read_status', READ_STATUS).notNullable().defaultTo('unread');
        table.jsonb('embedding');
        table.jsonb('sparse_embedding');
        table.uuid('owner_id').references('id').inTable('users').onDelete('SET NULL');
        table.enu('ingestion_status', INGESTION_STATUS).notNullable().defaultTo('pending');
        table.text('ingestion_error');
        timestamp(table, 'ingestion_started_at');
        timestamp(table, 'ingestion_completed_at');
        timestamps(table);
        table.check('?? >= 0 AND ?? <= 1', ['quality_score', 'quality_score'], 'resources_quality_score_range');

        // FK + "best resources of a class": filter by classification_code,
        // order by quality_score. Also serves the classification_code FK.
        table.index(['classification_code', 'quality_score'], 'resources_classification_quality_idx');
        // FK: resources of a user; ON DELETE SET NULL looks rows up by owner.
        table.index(['owner_id'], 'resources_owner_id_idx');
        // "Unread items added recently" dashboards: range on created_at, filter on read_status.
        table.index(['created_at', 'read_status'], 'resources_created_at_read_status_idx');
        // Default listing order and its keyset cursor: ORDER BY created_at, id.
        table.index(['created_at', 'id'], 'resources_created_at_id_idx');
        // Sort by updated_at (recently changed) and its keyset cursor.
        table.index(['updated_at', 'id'], 'resources_updated_at_id_idx');
        // Sort by quality_score across all classes and its keyset cursor.
        table.index(['quality_score', 'id'], 'resources_quality_score_id_idx');
        // Ingestion monitoring: what finished in a time window.
        table.index(['ingestion_completed_at'], 'resources_ingestion_completed_at_idx');
    });

    await knex.schema.createTable('citations', (table) => {

        id(table);
        table.uuid('source_resource_id').notNullable().references('id').inTable('resources').onDelete('CASCADE');
        table.uuid('target_resource_id').references('id').inTable('resources').onDelete('SET NULL');
        table.text('target_url');
        table.enu('citation_type', ['reference', 'dataset', 'code', 'general']).notNullable().defaultTo('general');
        table.text('context_snippet');
        table.double('importance_score');
        timestamps(table);
        // FK: citations of a resource (outgoing), and ON DELETE CASCADE.
        table.index(['source_resource_id'], 'citations_source_resource_id_idx');
        // FK: who cites a resource (incoming), and ON DELETE SET NULL.
        table.index(['target_resource_id'], 'citations_target_resource_id_idx');
    });

    await knex.schema.createTable('collections', (table) => {

        id(table);
        table.string('name', 200).notNullable();
        table.text('description');
        table.uuid('owner_id').references('id').inTable('users').onDelete('SET NULL');
        table.enu('visibility', ['private', 'shared', 'public']).notNullable().defaultTo('private');
        table.uuid('parent_id').references('id').inTable('collections').onDelete('CASCADE');
        timestamps(table);
        // FK: collections of a user.
        table.index(['owner_id'], 'collections_owner_id_idx');
        // FK: sub-collections of a collection (and ON DELETE CASCADE).
        table.index(['parent_id'], 'collections_parent_id_idx');
    });

    await knex.schema.createTable('collection_resources', (table) => {

        table.uuid('collection_id').notNullable().references('id').inTable('collections').onDelete('CASCADE');
        table.uuid('resource_id').notNullable().references('id').inTable('resources').onDelete('CASCADE');
        timestamp(table, 'added_at').notNullable().defaultTo(dialect.nowDefault(knex));
        // The primary key (collection_id first) serves the collection_id FK.
        table.primary(['collection_id', 'resource_id']);
        // FK: the collections a resource belongs to (and ON DELETE CASCADE).
        table.index(['resource_id'], 'collection_resources_resource_id_idx');
    });

    await knex.schema.createTable('taxonomy_nodes', (table) => {

        id(table);
        table.string('name', 200).notNullable();
        table.string('slug', 200).notNullable().unique();
        table.uuid('parent_id').references('id').inTable('taxonomy_nodes').onDelete('CASCADE');
        table.integer('level').notNullable().defaultTo(0);
        table.text('path').notNullable();
        table.text('description');
        timestamps(table);
        // FK: children of a node (tree walks, ON DELETE CASCADE).
        table.index(['parent_id'], 'taxonomy_nodes_parent_id_idx');
    });

    await knex.schema.createTable('resource_taxonomy', (table) => {

        table.uuid('resource_id').notNullable().references('id').inTable('resources').onDelete('CASCADE');
        table.uuid('taxonomy_node_id').notNullable().references('id').inTable('taxonomy_nodes').onDelete('CASCADE');
        table.double('confidence').notNullable().defaultTo(1);
        table.boolean('is_predicted').notNullable().defaultTo(false);
        timestamp(table, 'created_at').notNullable().defaultTo(dialect.nowDefault(knex));
        // The primary key (resource_id first) serves the resource_id FK.
        table.primary(['resource_id', 'taxonomy_node_id']);
        // FK: resources under a taxonomy node.
        table.index(['taxonomy_node_id'], 'resource_taxonomy_taxonomy_node_id_idx');
    });

    await knex.schema.createTable('annotations', (table) => {

        id(table);
        table.uuid('resource_id').notNullable().references('id').inTable('resources').onDelete('CASCADE');
        table.uuid('user_id').references('id').inTable('users').onDelete('SET NULL');
        table.integer('start_offset').notNullable();
        table.integer('end_offset').notNullable();
        table.text('highlighted_text').notNullable();
        table.text('note');
        table.jsonb('tags').notNullable().defaultTo('[]');
        table.string('color', 16).notNullable().defaultTo('#ffff00');
        table.boolean('is_shared').notNullable().defaultTo(false);
        timestamps(table);
        table.check('?? >= 0 AND ?? >= ??', ['start_offset', 'end_offset', 'start_offset'], 'annotations_offsets_valid');
        // FK: annotations of a resource, in reading order.
        table.index(['resource_id', 'start_offset'], 'annotations_resource_id_start_offset_idx');
        // FK: annotations of a user.
        table.index(['user_id'], 'annotations_user_id_idx');
    });

    await knex.schema.createTable('graph_edges', (table) => {

        id(table);
        table.uuid('source_id').notNullable().references('id').inTable('resources').onDelete('CASCADE');
        table.uuid('target_id').notNullable().references('id').inTable('resources').onDelete('CASCADE');
        table.string('edge_type', 64).notNullable();
        table.double('weight').notNullable().defaultTo(1);
        table.jsonb('metadata').notNullable().defaultTo('{}');
        timestamps(table);
        // One edge of a type between two resources; leads with source_id, so
        // it also serves the source_id FK (outgoing edges).
        table.unique(['source_id', 'target_id', 'edge_type'], { indexName: 'graph_edges_source_target_type_unique' });
        // FK: incoming edges of a resource.
        table.index(['target_id'], 'graph_edges_target_id_idx');
    });

    if (pg) {
        // GIN (jsonb_path_ops) indexes answer containment (@>) queries such
        // as "resources whose subjects include X" without a table scan.
        // jsonb_path_ops is smaller and faster than the default jsonb_ops for @>.
        for (const column of ['subject', 'relation', 'embedding', 'sparse_embedding']) {
            await knex.raw(`CREATE INDEX resources_${column}_gin_idx ON resources USING gin (${column} jsonb_path_ops)`);
        }

        await knex.raw('CREATE INDEX annotations_tags_gin_idx ON annotations USING gin (tags jsonb_path_ops)');
    }
}

export async function down(knex: Knex): Promise<void> {

    for (const table of [
        'graph_edges', 'annotations', 'resource_taxonomy', 'taxonomy_nodes', 'collection_resources',
        'collections', 'citations', 'resources', 'authority_publishers', 'authority_creators',
        'authority_subjects', 'classification_codes', 'users'
    ]) {
        await knex.schema.dropTableIfExists(table);
    }

    // The extensions stay: other schemas of the same database may use them.
}
