import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import type { Knex } from 'knex';

import { testDatabaseUrl } from '../../server/config';
import { createDatabaseEngine } from '../../server/db/engine';
import { migrationConfig, migrationStatus } from '../../server/db/migrations';
import type { DatabaseEngine } from '../../server/db/types';
import { ensurePostgresDatabase, isPostgres, postgresOnly, removeSqliteFiles, tempSqlitePath } from '../helpers/database';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

interface ForeignKey {
    table: string;
    columns: string[];
    references: string;
    onDelete: string;
}

async function foreignKeys(knex: Knex, postgres: boolean): Promise<ForeignKey[]> {

    if (postgres) {
        const { rows } = await knex.raw(`
            SELECT c.conrelid::regclass::text AS table, c.confrelid::regclass::text AS references,
                   array_agg(a.attname::text ORDER BY k.ord) AS columns,
                   CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'r' THEN 'RESTRICT' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END AS on_delete
            FROM pg_constraint c
            CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
            WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
            GROUP BY c.oid, c.conrelid, c.confrelid, c.confdeltype`);
        return rows.map((row: any) => ({ table: row.table, columns: row.columns, references: row.references, onDelete: row.on_delete }));
    }

    const tables: Array<{ name: string }> = await knex.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
    const keys: ForeignKey[] = [];
    for (const { name } of tables) {
        const rows: Array<{ id: number; seq: number; table: string; from: string; on_delete: string }> = await knex.raw('SELECT * FROM pragma_foreign_key_list(?)', [name]);
        const byId = new Map<number, ForeignKey>();
        for (const row of rows.sort((a, b) => a.seq - b.seq)) {
            const key = byId.get(row.id) ?? { table: name, columns: [], references: row.table, onDelete: row.on_delete };
            key.columns.push(row.from);
            byId.set(row.id, key);
        }

        keys.push(...byId.values());
    }

    return keys;
}

/** Leading columns of every index of a table, read from the catalog. */
async function indexColumns(knex: Knex, postgres: boolean, table: string): Promise<string[][]> {

    if (postgres) {
        const { rows } = await knex.raw(`
            SELECT array_agg(a.attname::text ORDER BY k.ord) AS columns
            FROM pg_index i
            CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid = ?::regclass
            GROUP BY i.indexrelid`, [table]);
        return rows.map((row: any) => row.columns);
    }

    const indexes: Array<{ name: string }> = await knex.raw('SELECT name FROM pragma_index_list(?)', [table]);
    const result: string[][] = [];
    for (const { name } of indexes) {
        const columns: Array<{ seqno: number; name: string }> = await knex.raw('SELECT seqno, name FROM pragma_index_info(?)', [name]);
        result.push(columns.sort((a, b) => a.seqno - b.seqno).map((column) => column.name));
    }

    return result;
}

describe('schema migrations', () => {

    let engine: DatabaseEngine;
    let cleanup: () => Promise<void>;

    before(async () => {

        // A database of its own: this file rolls the whole history back and forth.
        const base = testDatabaseUrl();
        if (base) {
            const url = new URL(base);
            url.pathname = `${url.pathname}_schema`;
            await ensurePostgresDatabase(url.toString());
            engine = createDatabaseEngine(url.toString(), { min: 0, max: 2 });
            await engine.knex.raw('DROP SCHEMA IF EXISTS public CASCADE');
            await engine.knex.raw('CREATE SCHEMA public');
            cleanup = () => engine.destroy();
        }
        else {
            const filename = tempSqlitePath('schema');
            engine = createDatabaseEngine(`sqlite:${filename}`);
            cleanup = async () => {

                await engine.destroy();
                removeSqliteFiles(filename);
            };
        }

        await engine.knex.migrate.latest(migrationConfig);
    });

    after(async () => {

        await cleanup();
    });

    it('rolls the whole history back and applies it again', async () => {

        await engine.knex.migrate.rollback(migrationConfig, true);
        const empty = await migrationStatus(engine.knex);
        expect(empty.completed).to.equal([]);
        expect(await engine.knex.schema.hasTable('resources')).to.be.false();

        await engine.knex.migrate.latest(migrationConfig);
        const full = await migrationStatus(engine.knex);
        expect(full.pending).to.equal([]);
        expect(full.completed.length).to.be.above(1);
        expect(await engine.knex.schema.hasTable('resources')).to.be.true();
    });

    it('has an index led by the columns of every foreign key (read from the catalog)', async () => {

        const keys = await foreignKeys(engine.knex, isPostgres);
        expect(keys.length).to.be.at.least(15);
        const missing: string[] = [];
        for (const key of keys) {
            const indexes = await indexColumns(engine.knex, isPostgres, key.table);
            const covered = indexes.some((columns) => key.columns.every((column, i) => columns[i] === column));
            if (!covered) {
                missing.push(`${key.table}(${key.columns.join(', ')})`);
            }
        }

        expect(missing).to.equal([]);
    });

    it('applies the same ON DELETE rules on both dialects', async () => {

        const keys = await foreignKeys(engine.knex, isPostgres);
        const rules = Object.fromEntries(keys.map((key) => [`${key.table}.${key.columns.join('+')}`, key.onDelete]));
        expect(rules).to.equal({
            'annotations.resource_id': 'CASCADE',
            'annotations.user_id': 'SET NULL',
            'citations.source_resource_id': 'CASCADE',
            'citations.target_resource_id': 'SET NULL',
            'classification_codes.parent_code': 'SET NULL',
            'collection_resources.collection_id': 'CASCADE',
            'collection_resources.resource_id': 'CASCADE',
            'collections.owner_id': 'SET NULL',
            'collections.parent_id': 'CASCADE',
            'graph_edges.source_id': 'CASCADE',
            'graph_edges.target_id': 'CASCADE',
            'resource_taxonomy.resource_id': 'CASCADE',
            'resource_taxonomy.taxonomy_node_id': 'CASCADE',
            'resources.classification_code': 'SET NULL',
            'resources.owner_id': 'SET NULL',
            'taxonomy_nodes.parent_id': 'CASCADE'
        });
    });

    it('has the composite and timestamp indexes of R8', async () => {

        const indexes = (await indexColumns(engine.knex, isPostgres, 'resources')).map((columns) => columns.join(','));
        expect(indexes).to.include(['classification_code,quality_score', 'created_at,read_status', 'updated_at,id', 'ingestion_completed_at']);
    });

    it('postgres only: uses native jsonb, uuid, boolean, timestamptz and double precision types', postgresOnly, async () => {

        const { rows } = await engine.knex.raw(`
            SELECT table_name || '.' || column_name AS name, data_type
            FROM information_schema.columns WHERE table_schema = current_schema()`);
        const types = Object.fromEntries(rows.map((row: any) => [row.name, row.data_type]));
        for (const column of ['subject', 'relation', 'embedding', 'sparse_embedding']) {
            expect(types[`resources.${column}`], column).to.equal('jsonb');
        }

        expect(types['resources.id']).to.equal('uuid');
        expect(types['resources.quality_score']).to.equal('double precision');
        expect(types['resources.created_at']).to.equal('timestamp with time zone');
        expect(types['resources.search_vector']).to.equal('tsvector');
        expect(types['annotations.is_shared']).to.equal('boolean');
    });

    it('postgres only: has the extensions, the GIN indexes and the search_vector trigger', postgresOnly, async () => {

        const { rows: extensions } = await engine.knex.raw('SELECT extname FROM pg_extension');
        expect(extensions.map((row: any) => row.extname)).to.include(['pg_trgm', 'uuid-ossp']);

        const { rows: gin } = await engine.knex.raw(`
            SELECT indexdef FROM pg_indexes WHERE tablename = 'resources' AND indexdef LIKE '%USING gin%'`);
        const definitions = gin.map((row: any) => row.indexdef).join('\n');
        for (const column of ['subject', 'relation', 'embedding', 'sparse_embedding']) {
            expect(definitions).to.contain(`(${column} jsonb_path_ops)`);
        }

        expect(definitions).to.contain('(search_vector)');

        const { rows: triggers } = await engine.knex.raw(`
            SELECT tgname, p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE t.tgrelid = 'resources'::regclass AND NOT t.tgisinternal`);
        expect(triggers.map((row: any) => row.proname)).to.include('resources_search_vector_update');
    });

    it('postgres only: answers JSONB containment from the GIN index', postgresOnly, async () => {

        const { rows } = await engine.knex.raw(`
            EXPLAIN (FORMAT JSON) SELECT id FROM resources WHERE subject @> '["databases"]'::jsonb`);
        // With enable_seqscan off the planner must be able to use the index at all.
        await engine.knex.transaction(async (trx) => {

            await trx.raw('SET LOCAL enable_seqscan = off');
            const { rows: plan } = await trx.raw(`EXPLAIN SELECT id FROM resources WHERE subject @> '["databases"]'::jsonb`);
            expect(plan.map((row: any) => row['QUERY PLAN']).join('\n')).to.contain('resources_subject_gin_idx');
        });
        expect(rows.length).to.equal(1);
    });

    it('postgres only: keeps search_vector current with weights title A, description B, subjects C', postgresOnly, async () => {

        const [{ id }] = await engine.knex('resources').insert({ id: '00000000-0000-4000-8000-000000000001', title: 'Zebra', description: 'giraffe', subject: JSON.stringify(['okapi']) }).returning('id');
        const vector = async () => (await engine.knex.raw('SELECT search_vector::text AS v FROM resources WHERE id = ?', [id])).rows[0].v;
        expect(await vector()).to.equal("'giraff':2B 'okapi':3C 'zebra':1A");
        await engine.knex('resources').where({ id }).update({ subject: JSON.stringify(['lemur']) });
        expect(await vector()).to.contain("'lemur':3C");
        await engine.knex('resources').where({ id }).delete();
    });
});
