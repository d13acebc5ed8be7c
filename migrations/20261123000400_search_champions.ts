// Champion lists for PostgreSQL ranking: for every lexeme found in at least
// min_df documents, the `size` documents with the best single-term bm25
// weight. Ranking a query over common words then scores those candidates
// (plus every document changed since the lists were built) instead of every
// match: ranking 20,000 matches of a common word costs tens of milliseconds,
// the candidates well under ten. Rare terms keep all their matches as
// candidates, so only combinations of common words rely on the lists.
//
// Staying current: resource_search.changed_seq is stamped on every insert or
// text change, and documents changed after the last build are always
// candidates; the fts-postgres plugin rebuilds the lists when enough have
// changed. Cost: one sequence value per written document; a rebuild is one
// set-based pass over every (document, common lexeme) pair.

import type { Knex } from 'knex';

import { dialectOf } from '../server/db/engine';

// How the refresh ranks and stores the lists: its first definition. A later
// migration passes a faster ranking that builds the same lists.
export const RANK_CHAMPIONS = `
            INSERT INTO search_champions (lexeme, resource_id)
            SELECT lexeme, resource_id FROM (
                SELECT u.lexeme, rs.resource_id, row_number() OVER (
                    PARTITION BY u.lexeme
                    ORDER BY w.tf * 2.2 / (w.tf + 1.2 * (0.25 + 0.75 * rs.doc_len / avgdl)) DESC, rs.updated_at DESC, rs.resource_id
                ) AS position
                FROM resource_search rs
                CROSS JOIN LATERAL unnest(rs.vec) u
                -- FTS5's weighted term frequency: title 10, description 5, subjects 2 per occurrence.
                CROSS JOIN LATERAL (
                    SELECT (10 * cardinality(array_positions(u.weights, 'A')) + 5 * cardinality(array_positions(u.weights, 'B'))
                            + 2 * cardinality(array_positions(u.weights, 'C')))::float8 AS tf
                ) w
                WHERE u.lexeme IN (SELECT s.lexeme FROM search_lexeme_stats s WHERE s.ndoc >= min_df)
            ) ranked
            WHERE position <= size
            -- Stored in lexeme order, so one word's list sits on a few pages.
            ORDER BY lexeme, resource_id;`;

// The refresh around the statements that rank and store the lists: one at
// a time, against the statistics and change sequence it records. A later
// migration passes a faster ranking, and restores this default on rollback.
export const championsRefreshFunction = (verb: 'CREATE' | 'CREATE OR REPLACE', rank = RANK_CHAMPIONS) => `
        ${verb} FUNCTION search_champions_refresh(min_df integer DEFAULT 2000, size integer DEFAULT 500) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE
            seq bigint;
            avgdl float8;
        BEGIN
            -- One refresh at a time; readers keep the old lists until commit.
            PERFORM pg_advisory_xact_lock(hashtext('search_champions_refresh'));
            PERFORM set_config('work_mem', '256MB', true);
            SELECT coalesce(max(changed_seq), 0) INTO seq FROM resource_search;
            SELECT coalesce(max(total_len)::float8 / nullif(max(ndocs), 0), 1) INTO avgdl FROM search_corpus_stats;
            DELETE FROM search_champions;${rank}
            INSERT INTO search_champion_state (id, built_seq, min_df, size, built_at) VALUES (1, seq, min_df, size, now())
            ON CONFLICT (id) DO UPDATE SET built_seq = excluded.built_seq, min_df = excluded.min_df, size = excluded.size, built_at = excluded.built_at;
        END
        $$`;

export async function up(knex: Knex): Promise<void> {

    if (dialectOf(knex).type !== 'postgres') {
        return;
    }

    await knex.raw('CREATE SEQUENCE search_change_seq');
    await knex.raw('ALTER TABLE resource_search ADD COLUMN changed_seq bigint NOT NULL DEFAULT 0');
    // "Changed since the last build" is a range on this index.
    await knex.raw('CREATE INDEX resource_search_changed_seq_idx ON resource_search (changed_seq)');
    await knex.raw(`
        CREATE FUNCTION resource_search_mark_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.changed_seq := nextval('search_change_seq');
            RETURN NEW;
        END
        $$`);
    await knex.raw(`
        CREATE TRIGGER resource_search_mark_changed_trigger BEFORE INSERT OR UPDATE OF vec, doc_len ON resource_search
        FOR EACH ROW EXECUTE FUNCTION resource_search_mark_changed()`);

    await knex.raw('CREATE TABLE search_champions (lexeme text NOT NULL, resource_id uuid NOT NULL, PRIMARY KEY (lexeme, resource_id))');
    await knex.raw(`
        CREATE TABLE search_champion_state (
            id smallint PRIMARY KEY CHECK (id = 1),
            built_seq bigint NOT NULL,
            min_df integer NOT NULL,
            size integer NOT NULL,
            built_at timestamptz NOT NULL
        )`);
    await knex.raw(championsRefreshFunction('CREATE'));
    // Building the lists of a large library outlasts the pool's statement timeout.
    await knex.raw('SET LOCAL statement_timeout = 0');
    await knex.raw('SELECT search_champions_refresh()');
}

export async function down(knex: Knex): Promise<void> {

    if (dialectOf(knex).type !== 'postgres') {
        return;
    }

    await knex.raw('DROP FUNCTION IF EXISTS search_champions_refresh(integer, integer)');
    await knex.raw('DROP TABLE IF EXISTS search_champions, search_champion_state');
    await knex.raw('DROP TRIGGER IF EXISTS resource_search_mark_changed_trigger ON resource_search');
    await knex.raw('DROP FUNCTION IF EXISTS resource_search_mark_changed()');
    await knex.raw('ALTER TABLE resource_search DROP COLUMN IF EXISTS changed_seq');
    await knex.raw('DROP SEQUENCE IF EXISTS search_change_seq');
}
