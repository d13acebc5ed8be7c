// Faster whole-library passes over the search data, with the same results:
// search_storage_rebuild() writes the same rows and search_champions_refresh()
// builds the same lists (same scores, same tie-breaks, same members) as their
// first definitions in 20261123000300_search_ranking and
// 20261123000400_search_champions. Measured on 100,000 documents:
//
// - search_storage_rebuild(): 12.7 s → 7.6 s. Nearly all of it is the token
//   count (a regular expression over every text, ~0.1 ms per document), and
//   an INSERT … SELECT runs on one core. The counts are now computed by a
//   CREATE TABLE AS, which PostgreSQL runs as a parallel query, into a
//   temporary table that the insert then joins. Without the right to create
//   temporary tables, the rebuild counts in the insert as before.
//
// - search_champions_refresh(): 14 s → 8 s for 2.1 million document/common
//   word pairs. The term frequency was written once in a LATERAL subquery
//   that the planner inlines, so it was computed twice per pair, and the
//   window sorted every pair on the word itself: a text sort under a libc
//   collation compares with strcoll, without abbreviated keys. The common
//   words are now numbered (an integer partition key), the length factor is
//   computed once per document and the term frequency once per pair. The
//   scores are the same float8 operations in the same order, so ties break
//   exactly as before.

import type { Knex } from 'knex';

import { dialectOf } from '../server/db/engine';
import { FILL_SIDE_TABLE, storageRebuildFunction } from './20261123000300_search_ranking';
import { championsRefreshFunction } from './20261123000400_search_champions';

export const FILL_SIDE_TABLE_PARALLEL = `
            IF has_database_privilege(current_database(), 'TEMPORARY') THEN
                -- A parallel query: the token counts are most of the work.
                CREATE TEMPORARY TABLE search_rebuild_lengths ON COMMIT DROP AS
                SELECT id, search_document_length(title, description, subject) AS doc_len FROM resources;
                INSERT INTO resource_search (resource_id, doc_len, updated_at, vec)
                SELECT r.id, l.doc_len, r.updated_at, coalesce(r.search_vector, ''::tsvector)
                FROM resources r JOIN search_rebuild_lengths l ON l.id = r.id;
                DROP TABLE search_rebuild_lengths;
            ELSE${FILL_SIDE_TABLE}
            END IF;`;

export const RANK_CHAMPIONS_BY_NUMBER = `
            -- Compiling this one large query costs more than it saves.
            PERFORM set_config('jit', 'off', true);
            INSERT INTO search_champions (lexeme, resource_id)
            WITH common AS MATERIALIZED (
                -- The words with a list, numbered once: the ranking partitions and sorts on the number.
                SELECT s.lexeme, row_number() OVER () AS id FROM search_lexeme_stats s WHERE s.ndoc >= min_df
            )
            SELECT c.lexeme, ranked.resource_id FROM (
                SELECT pairs.id, pairs.resource_id, row_number() OVER (
                    PARTITION BY pairs.id
                    ORDER BY pairs.tf * 2.2 / (pairs.tf + pairs.norm) DESC, pairs.updated_at DESC, pairs.resource_id
                ) AS position
                FROM (
                    -- FTS5's weighted term frequency: title 10, description 5, subjects 2 per occurrence.
                    SELECT c.id, d.resource_id, d.updated_at, d.norm,
                           (10 * cardinality(array_positions(u.weights, 'A')) + 5 * cardinality(array_positions(u.weights, 'B'))
                            + 2 * cardinality(array_positions(u.weights, 'C')))::float8 AS tf
                    FROM (
                        -- bm25's length factor, once per document.
                        SELECT rs.resource_id, rs.updated_at, rs.vec, 1.2 * (0.25 + 0.75 * rs.doc_len / avgdl) AS norm
                        FROM resource_search rs
                        OFFSET 0
                    ) d
                    CROSS JOIN LATERAL unnest(d.vec) u
                    JOIN common c ON c.lexeme = u.lexeme
                    -- Keeps the subquery whole, so tf is computed once, not once per use.
                    OFFSET 0
                ) pairs
            ) ranked
            JOIN common c ON c.id = ranked.id
            WHERE ranked.position <= size
            -- Stored word by word, so one word's list sits on a few pages.
            ORDER BY c.id, ranked.resource_id;`;

export async function up(knex: Knex): Promise<void> {

    if (dialectOf(knex).type !== 'postgres') {
        return;
    }

    await knex.raw(storageRebuildFunction('CREATE OR REPLACE', FILL_SIDE_TABLE_PARALLEL));
    await knex.raw(championsRefreshFunction('CREATE OR REPLACE', RANK_CHAMPIONS_BY_NUMBER));
}

export async function down(knex: Knex): Promise<void> {

    if (dialectOf(knex).type !== 'postgres') {
        return;
    }

    await knex.raw(storageRebuildFunction('CREATE OR REPLACE'));
    await knex.raw(championsRefreshFunction('CREATE OR REPLACE'));
}
