// Exact top-k through the champion lists (PostgreSQL). Until now a query
// over common words ranked only their 500 champions (and the documents
// changed since the build) and trusted that the best documents were among
// them: usually, not always. Now each list keeps what proves it:
//
// - search_champions.impact: the document's bm25 weight for the word without
//   the idf, tf·2.2 / (tf + 1.2·(0.25 + 0.75·dl / avgdl)), at the build's avgdl;
// - search_champion_floors: per listed word, the best impact of a document
//   left out of its list (0 when the list holds every document of the word);
// - search_champion_state.avgdl and .snap: the average length the impacts
//   were computed with, and the snapshot the build read. A document is
//   "changed since the build" exactly when the transaction that last wrote
//   its text (resource_search.changed_xid) is not visible in that snapshot:
//   a sequence number, as before, could be drawn by a writer that committed
//   only after the build had read a higher one, and its document was then
//   neither in the lists nor ranked as changed.
//
// Any document outside the candidates (not changed, in no list, no match of
// an enumerated term) scores at most Σ idf·floor·max(1, avgdl_now / avgdl_built)
// over the listed words of the query: the ranking statement compares this
// bound with the k-th candidate and the search ranks every match when the
// candidates cannot prove their page (plugins/fts-postgres/search.ts).
// SQLite: nothing to do.

import type { Knex } from 'knex';

import { dialectOf } from '../server/db/engine';
import { championsRefreshFunction } from './20261123000400_search_champions';
import { RANK_CHAMPIONS_BY_NUMBER } from './20261124000100_search_rebuild_faster';

const MARK_CHANGED = (withXid: boolean) => `
        CREATE OR REPLACE FUNCTION resource_search_mark_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.changed_seq := nextval('search_change_seq');${withXid ? `
            NEW.changed_xid := pg_current_xact_id();` : ''}
            RETURN NEW;
        END
        $$`;

// The same lists as RANK_CHAMPIONS_BY_NUMBER (same scores, same order, same
// members), with their impacts, the floors and the build's snapshot written
// by one statement, so all three describe the same data.
const REFRESH = `
        CREATE OR REPLACE FUNCTION search_champions_refresh(min_df integer DEFAULT 2000, size integer DEFAULT 500) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE
            seq bigint;
            avgdl float8;
        BEGIN
            -- One refresh at a time; readers keep the old lists until commit.
            PERFORM pg_advisory_xact_lock(hashtext('search_champions_refresh'));
            PERFORM set_config('work_mem', '256MB', true);
            -- Compiling this one large query costs more than it saves.
            PERFORM set_config('jit', 'off', true);
            SELECT coalesce(max(changed_seq), 0) INTO seq FROM resource_search;
            SELECT coalesce(max(total_len)::float8 / nullif(max(ndocs), 0), 1) INTO avgdl FROM search_corpus_stats;
            DELETE FROM search_champions;
            DELETE FROM search_champion_floors;
            WITH common AS MATERIALIZED (
                -- The words with a list, numbered once: the ranking partitions and sorts on the number.
                SELECT s.lexeme, row_number() OVER () AS id FROM search_lexeme_stats s WHERE s.ndoc >= min_df
            ), ranked AS MATERIALIZED (
                SELECT * FROM (
                    SELECT pairs.id, pairs.resource_id, pairs.tf * 2.2 / (pairs.tf + pairs.norm) AS impact, row_number() OVER (
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
                ) w
                -- The list, and the first document left out of it (the floor).
                WHERE w.position <= size + 1
            ), listed AS (
                INSERT INTO search_champions (lexeme, resource_id, impact)
                SELECT c.lexeme, r.resource_id, r.impact FROM ranked r JOIN common c ON c.id = r.id
                WHERE r.position <= size
                -- Stored word by word, so one word's list sits on a few pages.
                ORDER BY c.id, r.resource_id
            ), floors AS (
                INSERT INTO search_champion_floors (lexeme, floor)
                SELECT c.lexeme, coalesce(max(r.impact) FILTER (WHERE r.position > size), 0)
                FROM common c LEFT JOIN ranked r ON r.id = c.id GROUP BY c.lexeme
            )
            INSERT INTO search_champion_state (id, built_seq, min_df, size, built_at, avgdl, snap)
            VALUES (1, seq, min_df, size, now(), avgdl, pg_current_snapshot())
            ON CONFLICT (id) DO UPDATE SET built_seq = excluded.built_seq, min_df = excluded.min_df, size = excluded.size,
                                           built_at = excluded.built_at, avgdl = excluded.avgdl, snap = excluded.snap;
        END
        $$`;

export async function up(knex: Knex): Promise<void> {

    if (dialectOf(knex).type !== 'postgres') {
        return;
    }

    await knex.raw('ALTER TABLE resource_search ADD COLUMN changed_xid xid8');
    // "Changed since the build" starts with a range on this index (from the snapshot's xmin).
    await knex.raw('CREATE INDEX resource_search_changed_xid_idx ON resource_search (changed_xid)');
    await knex.raw(MARK_CHANGED(true));
    await knex.raw('ALTER TABLE search_champions ADD COLUMN impact float8 NOT NULL DEFAULT 0');
    await knex.raw('CREATE TABLE search_champion_floors (lexeme text PRIMARY KEY, floor float8 NOT NULL)');
    await knex.raw('ALTER TABLE search_champion_state ADD COLUMN avgdl float8, ADD COLUMN snap pg_snapshot');
    await knex.raw(REFRESH);
    // Building the lists of a large library outlasts the pool's statement timeout.
    await knex.raw('SET LOCAL statement_timeout = 0');
    await knex.raw('SELECT search_champions_refresh()');
    await knex.raw('ANALYZE search_champions, search_champion_floors');
}

export async function down(knex: Knex): Promise<void> {

    if (dialectOf(knex).type !== 'postgres') {
        return;
    }

    await knex.raw(championsRefreshFunction('CREATE OR REPLACE', RANK_CHAMPIONS_BY_NUMBER));
    await knex.raw('ALTER TABLE search_champion_state DROP COLUMN IF EXISTS avgdl, DROP COLUMN IF EXISTS snap');
    await knex.raw('DROP TABLE IF EXISTS search_champion_floors');
    await knex.raw('ALTER TABLE search_champions DROP COLUMN IF EXISTS impact');
    await knex.raw(MARK_CHANGED(false));
    await knex.raw('DROP INDEX IF EXISTS resource_search_changed_xid_idx');
    await knex.raw('ALTER TABLE resource_search DROP COLUMN IF EXISTS changed_xid');
}
