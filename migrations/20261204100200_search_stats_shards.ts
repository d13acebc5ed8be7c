// bm25's statistics without a hot row. Every insert, text change and delete
// of a resource added to the one corpus row (and to the rows of the words it
// holds) inside the writing transaction, so concurrent writers queued on that
// row until each other's commit: about 1,000 inserts/s at 1, 4 or 20 writers.
//
// The statistics are now sharded counters. Each writing transaction claims a
// shard, the first of 64 whose transaction-level advisory lock is free
// (starting from its backend pid), and adds its counts to that shard's rows
// only: two open transactions never write the same row, so no writer waits
// on another's commit (only when 64 transactions write at once do some share
// a shard, and wait as before). Ranking reads the sums over the shards through
// two views with the old names and columns, search_lexeme_stats (lexeme, ndoc)
// and search_corpus_stats (ndocs, total_len): in one statement's snapshot they
// are exactly the counts of a full recount. A word's frequency is at most 64
// rows read through the primary key (lexeme, shard); the upkeep folds the
// other shards into the lowest free one (search_stats_fold(), under the
// locks of at most half of the shards, so it never waits for a writer nor a
// writer for it), which brings a word back to one row.
//
// Existing statistics become shard 0; rolling back folds every shard into
// one row per word and one corpus row again.

import type { Knex } from 'knex';

import { dialectOf } from '../server/db/engine';
import { FIRST_STATISTICS_WRITES, searchIndexFunctions, storageRebuildFunction, type StatisticsWrites } from './20261123000300_search_ranking';
import { FILL_SIDE_TABLE_PARALLEL } from './20261124000100_search_rebuild_faster';

/** How many shards the statistics have: more than the writers expected at once. */
export const STATISTICS_SHARDS = 64;

const SHARD_LOCK = "hashtext('search_stats_shard')";

// Adds the documents of `source` to the side table and to the shard's statistics.
const ADD = (source: string) => `
            WITH added AS (
                INSERT INTO resource_search (resource_id, doc_len, updated_at, vec)
                SELECT id, search_document_length(title, description, subject), updated_at, coalesce(search_vector, ''::tsvector) FROM (${source}) s
                ON CONFLICT (resource_id) DO UPDATE SET doc_len = excluded.doc_len, updated_at = excluded.updated_at, vec = excluded.vec
                RETURNING doc_len, vec
            ), lexemes AS (
                INSERT INTO search_lexeme_shards (lexeme, shard, ndoc)
                SELECT lexeme, stats_shard, count(*) FROM added, unnest(tsvector_to_array(added.vec)) lexeme GROUP BY lexeme ORDER BY lexeme
                ON CONFLICT (lexeme, shard) DO UPDATE SET ndoc = search_lexeme_shards.ndoc + excluded.ndoc
            )
            INSERT INTO search_corpus_shards (shard, ndocs, total_len)
            SELECT stats_shard, count(*), coalesce(sum(doc_len), 0) FROM added HAVING count(*) > 0
            ON CONFLICT (shard) DO UPDATE SET ndocs = search_corpus_shards.ndocs + excluded.ndocs,
                                              total_len = search_corpus_shards.total_len + excluded.total_len`;

// Takes the documents whose ids `ids` selects out of the statistics (negative
// counts in the shard: only the sums must be exact) and, with `remove`, out
// of the side table.
const SUBTRACT = (ids: string, remove: boolean) => `
            WITH gone AS (
                ${remove ?
        `DELETE FROM resource_search s WHERE s.resource_id IN (${ids}) RETURNING s.doc_len, s.vec` :
        `SELECT s.doc_len, s.vec FROM resource_search s WHERE s.resource_id IN (${ids})`}
            ), lexemes AS (
                INSERT INTO search_lexeme_shards (lexeme, shard, ndoc)
                SELECT lexeme, stats_shard, -count(*) FROM gone, unnest(tsvector_to_array(gone.vec)) lexeme GROUP BY lexeme ORDER BY lexeme
                ON CONFLICT (lexeme, shard) DO UPDATE SET ndoc = search_lexeme_shards.ndoc + excluded.ndoc
            )
            INSERT INTO search_corpus_shards (shard, ndocs, total_len)
            SELECT stats_shard, -count(*), -coalesce(sum(doc_len), 0) FROM gone HAVING count(*) > 0
            ON CONFLICT (shard) DO UPDATE SET ndocs = search_corpus_shards.ndocs + excluded.ndocs,
                                              total_len = search_corpus_shards.total_len + excluded.total_len`;

// Replaces the documents of `source` in the side table and adds the net
// change of each word to the shard: a text edit that keeps most words writes
// only the words it adds or drops. (Every part of one statement reads the
// same snapshot, so `previous` sees the vectors from before the upsert;
// `old` would be the trigger's OLD.)
const CHANGE = (source: string) => `
            WITH changed AS MATERIALIZED (${source}
            ), previous AS MATERIALIZED (
                SELECT s.doc_len, s.vec FROM resource_search s WHERE s.resource_id IN (SELECT id FROM changed)
            ), added AS (
                INSERT INTO resource_search (resource_id, doc_len, updated_at, vec)
                SELECT id, search_document_length(title, description, subject), updated_at, coalesce(search_vector, ''::tsvector) FROM changed
                ON CONFLICT (resource_id) DO UPDATE SET doc_len = excluded.doc_len, updated_at = excluded.updated_at, vec = excluded.vec
                RETURNING doc_len, vec
            ), lexemes AS (
                INSERT INTO search_lexeme_shards (lexeme, shard, ndoc)
                SELECT lexeme, stats_shard, sum(n) FROM (
                    SELECT lexeme, 1 AS n FROM added, unnest(tsvector_to_array(added.vec)) lexeme
                    UNION ALL
                    SELECT lexeme, -1 FROM previous, unnest(tsvector_to_array(previous.vec)) lexeme
                ) d
                GROUP BY lexeme HAVING sum(n) <> 0 ORDER BY lexeme
                ON CONFLICT (lexeme, shard) DO UPDATE SET ndoc = search_lexeme_shards.ndoc + excluded.ndoc
            )
            INSERT INTO search_corpus_shards (shard, ndocs, total_len)
            SELECT stats_shard, a.n - o.n, a.len - o.len
            FROM (SELECT count(*) AS n, coalesce(sum(doc_len), 0) AS len FROM added) a,
                 (SELECT count(*) AS n, coalesce(sum(doc_len), 0) AS len FROM previous) o
            WHERE a.n <> o.n OR a.len <> o.len
            ON CONFLICT (shard) DO UPDATE SET ndocs = search_corpus_shards.ndocs + excluded.ndocs,
                                              total_len = search_corpus_shards.total_len + excluded.total_len`;

const SHARDED_WRITES: StatisticsWrites = {
    declare: `
        DECLARE
            stats_shard smallint;`,
    begin: `
            stats_shard := search_stats_shard();`,
    add: ADD,
    subtract: SUBTRACT,
    change: CHANGE,
    tables: ['search_lexeme_shards', 'search_corpus_shards']
};

const SHARDED_STATISTICS = {
    tables: 'search_lexeme_shards, search_corpus_shards',
    store: `
            INSERT INTO search_lexeme_shards (lexeme, shard, ndoc) SELECT word, 0, ndoc FROM ts_stat('SELECT vec FROM resource_search');
            INSERT INTO search_corpus_shards (shard, ndocs, total_len) SELECT 0, count(*), coalesce(sum(doc_len), 0) FROM resource_search;`
};

// Moves the counts of the shards in `shards` above `target` into `target`.
const FOLD = (shards: string, target: string) => `
            WITH moved AS (
                DELETE FROM search_lexeme_shards WHERE shard > 0 AND shard > ${target} AND shard = ANY(${shards}) RETURNING lexeme, ndoc
            ), summed AS (
                INSERT INTO search_lexeme_shards (lexeme, shard, ndoc)
                SELECT lexeme, ${target}, sum(ndoc) FROM moved GROUP BY lexeme ORDER BY lexeme
                ON CONFLICT (lexeme, shard) DO UPDATE SET ndoc = search_lexeme_shards.ndoc + excluded.ndoc
            ), corpus AS (
                DELETE FROM search_corpus_shards WHERE shard > ${target} AND shard = ANY(${shards}) RETURNING ndocs, total_len
            ), corpus_summed AS (
                INSERT INTO search_corpus_shards (shard, ndocs, total_len)
                SELECT ${target}, sum(ndocs), sum(total_len) FROM corpus HAVING count(*) > 0
                ON CONFLICT (shard) DO UPDATE SET ndocs = search_corpus_shards.ndocs + excluded.ndocs,
                                                  total_len = search_corpus_shards.total_len + excluded.total_len
            )`;

async function upPostgres(knex: Knex): Promise<void> {

    // The tables keep their rows (shard 0) under new names; the views take the old ones.
    await knex.raw('ALTER TABLE search_lexeme_stats RENAME TO search_lexeme_shards');
    await knex.raw('ALTER TABLE search_lexeme_shards ADD COLUMN shard smallint NOT NULL DEFAULT 0');
    await knex.raw('ALTER TABLE search_lexeme_shards DROP CONSTRAINT search_lexeme_stats_pkey');
    await knex.raw('ALTER TABLE search_lexeme_shards ADD CONSTRAINT search_lexeme_shards_pkey PRIMARY KEY (lexeme, shard)');
    // The fold finds the rows of the other shards without reading shard 0.
    await knex.raw('CREATE INDEX search_lexeme_shards_unfolded_idx ON search_lexeme_shards (shard) WHERE shard > 0');
    await knex.raw('ALTER TABLE search_corpus_stats RENAME TO search_corpus_shards');
    await knex.raw('ALTER TABLE search_corpus_shards DROP CONSTRAINT search_corpus_stats_id_check');
    await knex.raw('ALTER TABLE search_corpus_shards RENAME COLUMN id TO shard');
    await knex.raw('ALTER INDEX search_corpus_stats_pkey RENAME TO search_corpus_shards_pkey');
    await knex.raw('UPDATE search_corpus_shards SET shard = 0');
    await knex.raw(`ALTER TABLE search_corpus_shards ADD CONSTRAINT search_corpus_shards_shard_check CHECK (shard >= 0 AND shard < ${STATISTICS_SHARDS})`);
    await knex.raw(`ALTER TABLE search_lexeme_shards ADD CONSTRAINT search_lexeme_shards_shard_check CHECK (shard >= 0 AND shard < ${STATISTICS_SHARDS})`);

    // What ranking reads: the sums. A lookup by lexeme is pushed into the
    // grouping, so it reads that word's rows through the primary key.
    await knex.raw('CREATE VIEW search_lexeme_stats AS SELECT lexeme, sum(ndoc)::integer AS ndoc FROM search_lexeme_shards GROUP BY lexeme');
    await knex.raw(`
        CREATE VIEW search_corpus_stats AS
        SELECT coalesce(sum(ndocs), 0)::bigint AS ndocs, coalesce(sum(total_len), 0)::bigint AS total_len FROM search_corpus_shards`);

    await knex.raw(`
        CREATE FUNCTION search_stats_shard() RETURNS smallint LANGUAGE plpgsql AS $$
        DECLARE
            first integer := pg_backend_pid() % ${STATISTICS_SHARDS};
        BEGIN
            -- Held until commit; a transaction that holds it already gets it again.
            FOR i IN 0..${STATISTICS_SHARDS - 1} LOOP
                IF pg_try_advisory_xact_lock(${SHARD_LOCK}, (first + i) % ${STATISTICS_SHARDS}) THEN
                    RETURN (first + i) % ${STATISTICS_SHARDS};
                END IF;
            END LOOP;
            -- Every shard is being written: share one (and wait on its rows).
            RETURN first;
        END
        $$`);
    await knex.raw(`
        CREATE FUNCTION search_stats_fold() RETURNS integer LANGUAGE plpgsql AS $$
        DECLARE
            candidate smallint;
            claimed smallint[] := '{}';
            moved integer;
        BEGIN
            -- Shard 0 and the shards that hold counts, as far as no transaction
            -- is writing them, and at most half of all shards: a writer that
            -- starts meanwhile always finds a free one. The rest is folded next time.
            FOR candidate IN
                SELECT 0::smallint UNION SELECT DISTINCT shard FROM search_lexeme_shards WHERE shard > 0
                UNION SELECT shard FROM search_corpus_shards WHERE shard > 0 ORDER BY 1
            LOOP
                EXIT WHEN cardinality(claimed) >= ${STATISTICS_SHARDS / 2};
                IF pg_try_advisory_xact_lock(${SHARD_LOCK}, candidate) THEN
                    claimed := claimed || candidate;
                END IF;
            END LOOP;
            IF cardinality(claimed) < 2 THEN
                RETURN 0;
            END IF;
            ${FOLD('claimed', 'claimed[1]')}
            SELECT count(*) INTO moved FROM moved;
            RETURN moved;
        END
        $$`);

    for (const statement of searchIndexFunctions('CREATE OR REPLACE', SHARDED_WRITES)) {
        await knex.raw(statement);
    }

    await knex.raw(storageRebuildFunction('CREATE OR REPLACE', FILL_SIDE_TABLE_PARALLEL, SHARDED_STATISTICS));
}

async function downPostgres(knex: Knex): Promise<void> {

    // Writers of the old functions would block on the tables being reshaped.
    await knex.raw('LOCK TABLE resources IN SHARE MODE');
    await knex.raw(`${FOLD(`ARRAY(SELECT generate_series(0, ${STATISTICS_SHARDS - 1}))::smallint[]`, '0::smallint')}
        SELECT count(*) FROM moved`);
    await knex.raw('UPDATE search_corpus_shards SET shard = 1');

    await knex.raw('DROP VIEW search_lexeme_stats, search_corpus_stats');
    await knex.raw('DROP FUNCTION search_stats_fold()');
    await knex.raw('DROP INDEX search_lexeme_shards_unfolded_idx');
    await knex.raw('ALTER TABLE search_lexeme_shards DROP CONSTRAINT search_lexeme_shards_shard_check');
    await knex.raw('ALTER TABLE search_lexeme_shards DROP CONSTRAINT search_lexeme_shards_pkey');
    await knex.raw('ALTER TABLE search_lexeme_shards DROP COLUMN shard');
    await knex.raw('ALTER TABLE search_lexeme_shards RENAME TO search_lexeme_stats');
    await knex.raw('ALTER TABLE search_lexeme_stats ADD CONSTRAINT search_lexeme_stats_pkey PRIMARY KEY (lexeme)');
    await knex.raw('ALTER TABLE search_corpus_shards DROP CONSTRAINT search_corpus_shards_shard_check');
    await knex.raw('ALTER TABLE search_corpus_shards RENAME COLUMN shard TO id');
    await knex.raw('ALTER INDEX search_corpus_shards_pkey RENAME TO search_corpus_stats_pkey');
    await knex.raw('ALTER TABLE search_corpus_shards RENAME TO search_corpus_stats');
    await knex.raw('ALTER TABLE search_corpus_stats ADD CONSTRAINT search_corpus_stats_id_check CHECK (id = 1)');

    for (const statement of searchIndexFunctions('CREATE OR REPLACE', FIRST_STATISTICS_WRITES)) {
        await knex.raw(statement);
    }

    await knex.raw(storageRebuildFunction('CREATE OR REPLACE', FILL_SIDE_TABLE_PARALLEL));
    await knex.raw('DROP FUNCTION search_stats_shard()');
}

export async function up(knex: Knex): Promise<void> {

    if (dialectOf(knex).type === 'postgres') {
        await upPostgres(knex);
    }
}

export async function down(knex: Knex): Promise<void> {

    if (dialectOf(knex).type === 'postgres') {
        await downPostgres(knex);
    }
}
