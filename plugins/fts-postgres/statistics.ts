// Planner statistics of the search tables, refreshed after bulk writes.
// Autovacuum analyzes a table once 10 % of it changed, and only when its
// worker comes round: right after a burst of API writes or a restore, the
// ranking query was planned on the statistics of a much smaller library and
// scanned resource_search sequentially instead of through its GIN index. The
// upkeep runs this check every few seconds; the counter it reads is
// PostgreSQL's own (pg_stat_user_tables.n_mod_since_analyze), so it counts
// every instance's writes, and survives a restart of the server.

import type { Knex } from 'knex';

/** The tables the ranking statements read, whose statistics shape their plans. */
export const SEARCH_PLANNED_TABLES = ['resource_search', 'search_lexeme_shards', 'search_champions', 'search_champion_floors'] as const;

export interface AnalyzeThreshold {
    /** Rows changed since the last analyze, at least… */
    minRows: number;
    /** …and at least this fraction of the table's live rows. */
    fraction: number;
}

export const ANALYZE_AFTER: AnalyzeThreshold = { minRows: 500, fraction: 0.05 };

interface TableActivity {
    relname: string;
    changed: string | number;
    live: string | number;
}

/**
 * ANALYZEs the search tables that changed by more than `threshold` since
 * their last analyze (manual or automatic); returns their names.
 */
export async function analyzeSearchIfStale(knex: Knex, threshold: AnalyzeThreshold = ANALYZE_AFTER): Promise<string[]> {

    const { rows }: { rows: TableActivity[] } = await knex.raw(`
        SELECT relname, n_mod_since_analyze AS changed, n_live_tup AS live FROM pg_stat_user_tables
        WHERE schemaname = current_schema() AND relname = ANY(?)
        ORDER BY relname`, [[...SEARCH_PLANNED_TABLES]]);
    const stale = rows
        .filter((row) => Number(row.changed) >= Math.max(threshold.minRows, threshold.fraction * Number(row.live)))
        .map((row) => row.relname);
    if (!stale.length) {
        return [];
    }

    await knex.transaction(async (trx) => {

        // Sampling a large resource_search can outlast the pool's statement timeout.
        await trx.raw('SET LOCAL statement_timeout = 0');
        await trx.raw(`ANALYZE ${stale.map((table) => `"${table}"`).join(', ')}`);
    });
    return stale;
}

/**
 * Folds the statistics shards no transaction is writing into the lowest of
 * them (search_stats_fold(), migration 20261204100200); returns how many word
 * rows it moved. Ranking reads the same sums before and after.
 */
export async function foldSearchStatistics(knex: Knex): Promise<number> {

    const { rows } = await knex.raw('SELECT search_stats_fold() AS moved');
    return rows[0].moved;
}
