// Ranking storage, so both engines rank with the same bm25 and offer the same
// "did you mean".
//
// PostgreSQL cannot reproduce FTS5's bm25 with ts_rank/ts_rank_cd, but it can
// compute bm25 exactly in SQL from three derived structures, all kept current
// by statement-level triggers on resources (one set-based pass per statement,
// in the writing transaction):
// - resource_search: a narrow copy of each row's search_vector with its FTS5
//   token count and updated_at. Ranking reads this instead of the wide
//   resources row (whose vector is pushed out of line by the embedding JSON),
//   which halves the cost of ranking many matches.
// - search_lexeme_stats: the number of documents holding each lexeme (bm25's
//   document frequency).
// - search_corpus_stats: one row, the document count and total token count
//   (bm25's average document length).
// Cost of keeping them current: per written resource one side-table row and
// one upsert per distinct lexeme; the corpus row is a hot row, so concurrent
// writers of resources text queue on it until commit.
//
// SQLite: an FTS5 trigram table over titles and subjects (contentless) for
// "did you mean"; the existing FTS5 triggers are replaced to maintain it too.

import type { Knex } from 'knex';

import { dialectOf } from '../server/db/engine';

const SQLITE_SUBJECTS = (row: string) => `coalesce((SELECT group_concat(value, ' ') FROM json_each(CASE WHEN json_valid(${row}.subject) AND json_type(${row}.subject) = 'array' THEN ${row}.subject ELSE '[]' END)), '')`;
const SQLITE_DOCID = (row: string) => `(SELECT docid FROM resource_search_docs WHERE resource_id = ${row}.id)`;

// Changed rows of an UPDATE statement: those whose indexed text changed.
const PG_CHANGED = `
    SELECT n.* FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.search_vector IS DISTINCT FROM o.search_vector OR n.title IS DISTINCT FROM o.title
       OR n.description IS DISTINCT FROM o.description OR n.subject IS DISTINCT FROM o.subject`;

// Adds the documents of `source` (columns resource_id-compatible: id, title,
// description, subject, updated_at, search_vector) to the side table and stats.
const PG_ADD = (source: string) => `
    WITH added AS (
        INSERT INTO resource_search (resource_id, doc_len, updated_at, vec)
        SELECT id, search_document_length(title, description, subject), updated_at, coalesce(search_vector, ''::tsvector) FROM (${source}) s
        ON CONFLICT (resource_id) DO UPDATE SET doc_len = excluded.doc_len, updated_at = excluded.updated_at, vec = excluded.vec
        RETURNING doc_len, vec
    ), lexemes AS (
        INSERT INTO search_lexeme_stats (lexeme, ndoc)
        SELECT lexeme, count(*) FROM added, unnest(tsvector_to_array(added.vec)) lexeme GROUP BY lexeme ORDER BY lexeme
        ON CONFLICT (lexeme) DO UPDATE SET ndoc = search_lexeme_stats.ndoc + excluded.ndoc
    )
    INSERT INTO search_corpus_stats (id, ndocs, total_len)
    SELECT 1, count(*), coalesce(sum(doc_len), 0) FROM added HAVING count(*) > 0
    ON CONFLICT (id) DO UPDATE SET ndocs = search_corpus_stats.ndocs + excluded.ndocs,
                                   total_len = search_corpus_stats.total_len + excluded.total_len`;

// Removes the documents whose ids `ids` selects from the stats (and, when
// `remove` is set, from the side table).
const PG_SUBTRACT = (ids: string, remove: boolean) => `
    WITH gone AS (
        ${remove ?
        `DELETE FROM resource_search s WHERE s.resource_id IN (${ids}) RETURNING s.doc_len, s.vec` :
        `SELECT s.doc_len, s.vec FROM resource_search s WHERE s.resource_id IN (${ids})`}
    ), lexemes AS (
        UPDATE search_lexeme_stats st SET ndoc = st.ndoc - c.n
        FROM (SELECT lexeme, count(*) AS n FROM gone, unnest(tsvector_to_array(gone.vec)) lexeme GROUP BY lexeme) c
        WHERE st.lexeme = c.lexeme
    )
    UPDATE search_corpus_stats SET ndocs = ndocs - (SELECT count(*) FROM gone),
                                   total_len = total_len - (SELECT coalesce(sum(doc_len), 0) FROM gone)
    WHERE id = 1 AND EXISTS (SELECT 1 FROM gone)`;

// How the trigger functions write the statistics: their first shape. A later
// migration shards them, and restores this default on rollback.
export interface StatisticsWrites {
    /** plpgsql declarations and statements that open each trigger function. */
    declare: string;
    begin: string;
    add(source: string): string;
    subtract(ids: string, remove: boolean): string;
    /** Replaces the documents of `source` (changed rows), when not a subtract then an add. */
    change?(source: string): string;
    /** The statistics tables, emptied with the side table. */
    tables: readonly string[];
}

export const FIRST_STATISTICS_WRITES: StatisticsWrites = {
    declare: '',
    begin: '',
    add: PG_ADD,
    subtract: PG_SUBTRACT,
    tables: ['search_lexeme_stats', 'search_corpus_stats']
};

/** The trigger functions of resources that keep the side table and statistics current. */
export const searchIndexFunctions = (verb: 'CREATE' | 'CREATE OR REPLACE', writes = FIRST_STATISTICS_WRITES): string[] => [`
        ${verb} FUNCTION resources_search_index_insert() RETURNS trigger LANGUAGE plpgsql AS $$${writes.declare}
        BEGIN${writes.begin}
            ${writes.add('SELECT * FROM new_rows')};
            RETURN NULL;
        END
        $$`, `
        ${verb} FUNCTION resources_search_index_update() RETURNS trigger LANGUAGE plpgsql AS $$${writes.declare}
        BEGIN${writes.begin}
            ${writes.change ? writes.change(PG_CHANGED) : `${writes.subtract(`SELECT id FROM (${PG_CHANGED}) c`, false)};
            ${writes.add(PG_CHANGED)}`};
            -- Ties are broken by updated_at, so the side table follows it on every update.
            UPDATE resource_search s SET updated_at = n.updated_at
            FROM new_rows n WHERE s.resource_id = n.id AND s.updated_at IS DISTINCT FROM n.updated_at;
            RETURN NULL;
        END
        $$`, `
        ${verb} FUNCTION resources_search_index_delete() RETURNS trigger LANGUAGE plpgsql AS $$${writes.declare}
        BEGIN${writes.begin}
            ${writes.subtract('SELECT id FROM old_rows', true)};
            RETURN NULL;
        END
        $$`, `
        ${verb} FUNCTION resources_search_index_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- DELETE, not TRUNCATE: a TRUNCATE that lists these tables too is still using them.
            DELETE FROM resource_search;${writes.tables.map((table) => `
            DELETE FROM ${table};`).join('')}
            RETURN NULL;
        END
        $$`];

// How the full rebuild fills the side table: its first definition, and the
// fallback of the faster one a later migration puts in its place.
export const FILL_SIDE_TABLE = `
            INSERT INTO resource_search (resource_id, doc_len, updated_at, vec)
            SELECT id, search_document_length(title, description, subject), updated_at, coalesce(search_vector, ''::tsvector) FROM resources;`;

// How the full rebuild stores the statistics: their first shape (one row
// per word, one corpus row). A later migration shards them.
export const STORE_STATISTICS = `
            INSERT INTO search_lexeme_stats (lexeme, ndoc) SELECT word, ndoc FROM ts_stat('SELECT vec FROM resource_search');
            INSERT INTO search_corpus_stats (id, ndocs, total_len) SELECT 1, count(*), coalesce(sum(doc_len), 0) FROM resource_search;`;

// The full rebuild around the statements that fill the side table. Later
// migrations pass a faster fill and another statistics shape, and restore
// these defaults on rollback.
export const storageRebuildFunction = (verb: 'CREATE' | 'CREATE OR REPLACE', fill = FILL_SIDE_TABLE,
    statistics = { tables: 'search_lexeme_stats, search_corpus_stats', store: STORE_STATISTICS }) => `
        ${verb} FUNCTION search_storage_rebuild() RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE resource_search, ${statistics.tables};${fill}${statistics.store}
        END
        $$`;

async function upPostgres(knex: Knex): Promise<void> {

    // The token count FTS5's unicode61 tokenizer gives the same three fields
    // (letters and digits make tokens), which bm25 uses as document length.
    await knex.raw(`
        CREATE FUNCTION search_document_length(title text, description text, subject jsonb) RETURNS integer
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT count(*)::integer FROM regexp_matches(
                coalesce(title, '') || ' ' || coalesce(description, '') || ' ' || coalesce(
                    (SELECT string_agg(value, ' ') FROM jsonb_array_elements_text(
                        CASE WHEN jsonb_typeof(subject) = 'array' THEN subject ELSE '[]'::jsonb END)), ''),
                '[[:alnum:]]+', 'g')
        $$`);
    await knex.raw(`
        CREATE TABLE resource_search (
            resource_id uuid PRIMARY KEY,
            doc_len integer NOT NULL,
            updated_at timestamptz NOT NULL,
            vec tsvector NOT NULL
        ) WITH (toast_tuple_target = 128)`);
    // Every vector goes out of line (toasted past 128 bytes, uncompressed
    // storage so it is not kept inline compressed): the heap keeps ~80 bytes
    // per document, so counting 20,000 matches reads a few hundred pages.
    await knex.raw('ALTER TABLE resource_search ALTER COLUMN vec SET STORAGE EXTERNAL');
    // Matching (@@) on the narrow table.
    await knex.raw('CREATE INDEX resource_search_vec_gin_idx ON resource_search USING gin (vec)');
    await knex.raw('CREATE TABLE search_lexeme_stats (lexeme text PRIMARY KEY, ndoc integer NOT NULL)');
    await knex.raw(`
        CREATE TABLE search_corpus_stats (
            id smallint PRIMARY KEY CHECK (id = 1),
            ndocs bigint NOT NULL,
            total_len bigint NOT NULL
        )`);

    for (const statement of searchIndexFunctions('CREATE')) {
        await knex.raw(statement);
    }

    await knex.raw(storageRebuildFunction('CREATE'));

    await knex.raw(`
        CREATE TRIGGER resources_search_index_insert_trigger AFTER INSERT ON resources
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION resources_search_index_insert()`);
    await knex.raw(`
        CREATE TRIGGER resources_search_index_update_trigger AFTER UPDATE ON resources
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION resources_search_index_update()`);
    await knex.raw(`
        CREATE TRIGGER resources_search_index_delete_trigger AFTER DELETE ON resources
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION resources_search_index_delete()`);
    await knex.raw(`
        CREATE TRIGGER resources_search_index_truncate_trigger AFTER TRUNCATE ON resources
        FOR EACH STATEMENT EXECUTE FUNCTION resources_search_index_truncate()`);

    // "Did you mean" looks for subjects similar to a word (titles already have a trigram index).
    await knex.raw('CREATE INDEX resources_subject_trgm_idx ON resources USING gin ((subject::text) gin_trgm_ops)');
    await knex.raw('SELECT search_storage_rebuild()');
}

async function createSqliteTriggers(knex: Knex, withTrigrams: boolean): Promise<void> {

    const trgmInsert = withTrigrams ? `
            INSERT INTO resources_trgm (rowid, title, subjects) VALUES (${SQLITE_DOCID('NEW')}, NEW.title, ${SQLITE_SUBJECTS('NEW')});` : '';
    const trgmDelete = withTrigrams ? `
            DELETE FROM resources_trgm WHERE rowid = ${SQLITE_DOCID('OLD')};` : '';

    await knex.raw(`
        CREATE TRIGGER resources_fts_insert AFTER INSERT ON resources BEGIN
            INSERT INTO resource_search_docs (resource_id) VALUES (NEW.id);
            INSERT INTO resources_fts (rowid, title, description, subjects)
            VALUES (last_insert_rowid(), NEW.title, coalesce(NEW.description, ''), ${SQLITE_SUBJECTS('NEW')});${trgmInsert}
        END`);
    await knex.raw(`
        CREATE TRIGGER resources_fts_update AFTER UPDATE OF title, description, subject ON resources BEGIN
            DELETE FROM resources_fts WHERE rowid = ${SQLITE_DOCID('OLD')};${trgmDelete}
            INSERT INTO resources_fts (rowid, title, description, subjects)
            VALUES (${SQLITE_DOCID('NEW')}, NEW.title, coalesce(NEW.description, ''), ${SQLITE_SUBJECTS('NEW')});${trgmInsert}
        END`);
    await knex.raw(`
        CREATE TRIGGER resources_fts_delete AFTER DELETE ON resources BEGIN
            DELETE FROM resources_fts WHERE rowid = ${SQLITE_DOCID('OLD')};${trgmDelete}
            DELETE FROM resource_search_docs WHERE resource_id = OLD.id;
        END`);
}

async function dropSqliteTriggers(knex: Knex): Promise<void> {

    for (const name of ['resources_fts_insert', 'resources_fts_update', 'resources_fts_delete']) {
        await knex.raw(`DROP TRIGGER IF EXISTS ${name}`);
    }
}

export async function up(knex: Knex): Promise<void> {

    if (dialectOf(knex).type === 'postgres') {
        await upPostgres(knex);
        return;
    }

    // Contentless: only the trigram index is stored; the text is read from resources.
    await knex.raw(`
        CREATE VIRTUAL TABLE resources_trgm USING fts5 (
            title, subjects, tokenize = 'trigram', content = '', contentless_delete = 1
        )`);
    await knex.raw(`
        INSERT INTO resources_trgm (rowid, title, subjects)
        SELECT d.docid, r.title, ${SQLITE_SUBJECTS('r')} FROM resources r JOIN resource_search_docs d ON d.resource_id = r.id`);
    await dropSqliteTriggers(knex);
    await createSqliteTriggers(knex, true);
}

export async function down(knex: Knex): Promise<void> {

    if (dialectOf(knex).type === 'postgres') {
        await knex.raw('DROP INDEX IF EXISTS resources_subject_trgm_idx');
        for (const event of ['insert', 'update', 'delete', 'truncate']) {
            await knex.raw(`DROP TRIGGER IF EXISTS resources_search_index_${event}_trigger ON resources`);
            await knex.raw(`DROP FUNCTION IF EXISTS resources_search_index_${event}()`);
        }

        await knex.raw('DROP FUNCTION IF EXISTS search_storage_rebuild()');
        await knex.raw('DROP TABLE IF EXISTS resource_search, search_lexeme_stats, search_corpus_stats');
        await knex.raw('DROP FUNCTION IF EXISTS search_document_length(text, text, jsonb)');
        return;
    }

    await dropSqliteTriggers(knex);
    await createSqliteTriggers(knex, false);
    await knex.raw('DROP TABLE IF EXISTS resources_trgm');
}
