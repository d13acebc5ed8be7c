// Full-text search storage, kept current by triggers so every write path
// (API, seeds, data migrations, raw SQL) updates it.
//
// PostgreSQL: resources.search_vector, weighted title A > description B >
// subjects C, maintained by resources_search_vector_update() and indexed by GIN.
// SQLite: an FTS5 table (porter stemming, unicode61) over the same three
// fields. FTS5 rows are addressed by an integer rowid; resources are keyed by
// UUID and SQLite may renumber the implicit rowid of a table on VACUUM, so a
// small map table gives each resource a stable integer docid. It has no
// foreign key: the delete trigger needs its row after the resource is gone.

import type { Knex } from 'knex';

import { dialectOf } from '../server/db/engine';

/**
 * The row trigger's function with the text search configuration it indexes
 * with: 'english' here; a later migration passes another and restores this
 * one on rollback.
 */
export const searchVectorFunction = (verb: 'CREATE' | 'CREATE OR REPLACE', config = 'english') => `
            ${verb} FUNCTION resources_search_vector_update() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.search_vector :=
                    setweight(to_tsvector('${config}', coalesce(NEW.title, '')), 'A') ||
                    setweight(to_tsvector('${config}', coalesce(NEW.description, '')), 'B') ||
                    setweight(to_tsvector('${config}', coalesce(
                        (SELECT string_agg(value, ' ') FROM jsonb_array_elements_text(
                            CASE WHEN jsonb_typeof(NEW.subject) = 'array' THEN NEW.subject ELSE '[]'::jsonb END)), '')), 'C');
                RETURN NEW;
            END
            $$`;

export async function up(knex: Knex): Promise<void> {

    if (dialectOf(knex).type === 'postgres') {
        await knex.raw('ALTER TABLE resources ADD COLUMN search_vector tsvector');
        await knex.raw(searchVectorFunction('CREATE'));
        await knex.raw(`
            CREATE TRIGGER resources_search_vector_trigger
            BEFORE INSERT OR UPDATE OF title, description, subject ON resources
            FOR EACH ROW EXECUTE FUNCTION resources_search_vector_update()`);
        // Full-text queries (@@) use this index instead of scanning resources.
        await knex.raw('CREATE INDEX resources_search_vector_gin_idx ON resources USING gin (search_vector)');
        // Trigram indexes for "did you mean" similarity on titles.
        await knex.raw('CREATE INDEX resources_title_trgm_idx ON resources USING gin (title gin_trgm_ops)');
        return;
    }

    await knex.raw(`
        CREATE TABLE resource_search_docs (
            docid INTEGER PRIMARY KEY,
            resource_id CHAR(36) NOT NULL UNIQUE
        )`);
    await knex.raw(`
        CREATE VIRTUAL TABLE resources_fts USING fts5 (
            title, description, subjects, tokenize = 'porter unicode61'
        )`);

    const subjects = (row: string) => `coalesce((SELECT group_concat(value, ' ') FROM json_each(CASE WHEN json_valid(${row}.subject) AND json_type(${row}.subject) = 'array' THEN ${row}.subject ELSE '[]' END)), '')`;
    await knex.raw(`
        CREATE TRIGGER resources_fts_insert AFTER INSERT ON resources BEGIN
            INSERT INTO resource_search_docs (resource_id) VALUES (NEW.id);
            INSERT INTO resources_fts (rowid, title, description, subjects)
            VALUES (last_insert_rowid(), NEW.title, coalesce(NEW.description, ''), ${subjects('NEW')});
        END`);
    await knex.raw(`
        CREATE TRIGGER resources_fts_update AFTER UPDATE OF title, description, subject ON resources BEGIN
            DELETE FROM resources_fts WHERE rowid = (SELECT docid FROM resource_search_docs WHERE resource_id = OLD.id);
            INSERT INTO resources_fts (rowid, title, description, subjects)
            VALUES ((SELECT docid FROM resource_search_docs WHERE resource_id = NEW.id), NEW.title, coalesce(NEW.description, ''), ${subjects('NEW')});
        END`);
    await knex.raw(`
        CREATE TRIGGER resources_fts_delete AFTER DELETE ON resources BEGIN
            DELETE FROM resources_fts WHERE rowid = (SELECT docid FROM resource_search_docs WHERE resource_id = OLD.id);
            DELETE FROM resource_search_docs WHERE resource_id = OLD.id;
        END`);
}

export async function down(knex: Knex): Promise<void> {

    if (dialectOf(knex).type === 'postgres') {
        await knex.raw('DROP TRIGGER IF EXISTS resources_search_vector_trigger ON resources');
        await knex.raw('DROP FUNCTION IF EXISTS resources_search_vector_update()');
        await knex.raw('DROP INDEX IF EXISTS resources_title_trgm_idx');
        await knex.raw('ALTER TABLE resources DROP COLUMN IF EXISTS search_vector');
        return;
    }

    await knex.raw('DROP TRIGGER IF EXISTS resources_fts_insert');
    await knex.raw('DROP TRIGGER IF EXISTS resources_fts_update');
    await knex.raw('DROP TRIGGER IF EXISTS resources_fts_delete');
    await knex.raw('DROP TABLE IF EXISTS resources_fts');
    await knex.raw('DROP TABLE IF EXISTS resource_search_docs');
}
