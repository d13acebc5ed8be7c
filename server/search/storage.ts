// Search storage that is derived from resources (recomputable at any time).
// The data migrator never copies it; it calls rebuildSearchStorage() on the
// target after loading resources. The fts plugins own its shape: when they
// add derived tables or columns, they list them here and rebuild them here.

import type { Knex } from 'knex';

import { forDialect, type DatabaseType } from '../db/url';

export interface DerivedSearchStorage {
    /** Tables whose every row is derived from resources. */
    tables: readonly string[];
    /** Columns of other tables that are derived (for example resources.search_vector). */
    columns: ReadonlyArray<{ table: string; column: string }>;
    /**
     * Row triggers that only fill derived columns of the row being written.
     * A bulk load keeps them on, so those columns are current when the rows
     * land and a rebuild need not rewrite the table.
     */
    rowTriggers: readonly string[];
    /**
     * True when those row triggers keep every derived structure current, so
     * a load that kept them on leaves nothing to rebuild; false when derived
     * tables still need rebuildSearchStorage() afterwards.
     */
    rowTriggersSuffice: boolean;
}

export const derivedSearchStorage: Record<DatabaseType, DerivedSearchStorage> = {
    sqlite: {
        // resources_fts and resources_trgm are FTS5 virtual tables; their shadow
        // tables (…_data, _idx, _content, _docsize, _config) go with them.
        tables: ['resources_fts', 'resources_trgm', 'resource_search_docs'],
        columns: [],
        // Each inserted row is indexed as it lands, in its own transaction:
        // a data migration's writer does this beside the reading and
        // encoding, instead of in a rebuild after the load.
        rowTriggers: ['resources_fts_insert', 'resources_fts_update', 'resources_fts_delete'],
        rowTriggersSuffice: true
    },
    postgres: {
        // The ranking side table and the bm25 statistics (migration 20261123000300,
        // sharded by 20261204100200; search_lexeme_stats and search_corpus_stats
        // are views of their sums) and the champion lists with their floors
        // (migrations 20261123000400, 20261204100300).
        tables: ['resource_search', 'search_lexeme_shards', 'search_corpus_shards', 'search_champions', 'search_champion_floors', 'search_champion_state'],
        columns: [{ table: 'resources', column: 'search_vector' }],
        rowTriggers: ['resources_search_vector_trigger'],
        // The side table, statistics and champion lists are kept by statement
        // triggers, which a bulk load sets aside: they are rebuilt after it.
        rowTriggersSuffice: false
    }
};

export interface RebuildOptions {
    /**
     * The derived columns are current (rows were written with the row
     * triggers on): only the derived tables are recomputed, the source table
     * is not rewritten.
     */
    derivedColumnsCurrent?: boolean;
}

/** True for a table the migrator must not copy (derived search data or an FTS5 shadow table). */
export function isDerivedSearchTable(type: DatabaseType, table: string): boolean {

    return derivedSearchStorage[type].tables.some((name) => table === name || table.startsWith(`${name}_`));
}

/** Recomputes every derived search structure from the resources table. */
export function rebuildSearchStorage(knex: Knex, type: DatabaseType, options: RebuildOptions = {}): Promise<void> {

    return forDialect(type, { postgres: rebuildPostgres, sqlite: rebuildSqlite })(knex, options);
}

async function rebuildPostgres(knex: Knex, options: RebuildOptions): Promise<void> {

    await knex.transaction(async (trx) => {

        // Whole-library passes outlast the pool's statement timeout.
        await trx.raw('SET LOCAL statement_timeout = 0');
        if (!options.derivedColumnsCurrent) {
            // Assigning a column to itself fires the BEFORE UPDATE OF title trigger,
            // which recomputes search_vector with the one definition in the migration.
            await trx.raw('UPDATE resources SET title = title');
        }

        // Then the side table and the statistics, recomputed from scratch, and
        // the champion lists from those.
        await trx.raw('SELECT search_storage_rebuild()');
        // Rewritten wholesale: fresh statistics, so the champion build and the
        // first searches are planned on the new data rather than on none.
        // (Migration 20261204000401 rebuilds through here while the
        // statistics are still the tables that later became views.)
        await analyzeExisting(trx, ['resource_search', 'search_lexeme_shards', 'search_corpus_shards', 'search_lexeme_stats', 'search_corpus_stats']);
        await trx.raw('SELECT search_champions_refresh()');
        // (The floors exist from migration 20261204100300 on.)
        await analyzeExisting(trx, ['search_champions', 'search_champion_floors']);
    });
}

/** ANALYZE those of the tables that exist at this point of the migrations. */
async function analyzeExisting(trx: Knex.Transaction, tables: readonly string[]): Promise<void> {

    const { rows } = await trx.raw(`
        SELECT string_agg(quote_ident(tablename), ', ' ORDER BY tablename) AS tables FROM pg_tables
        WHERE schemaname = current_schema() AND tablename = ANY(?)`, [[...tables]]);
    await trx.raw(`ANALYZE ${rows[0].tables}`);
}

async function rebuildSqlite(knex: Knex): Promise<void> {

    await knex.transaction(async (trx) => {

        await trx.raw('DELETE FROM resources_fts');
        // A contentless table cannot be scanned; 'delete-all' empties it.
        await trx.raw("INSERT INTO resources_trgm (resources_trgm) VALUES ('delete-all')");
        await trx.raw('DELETE FROM resource_search_docs');
        await trx.raw('INSERT INTO resource_search_docs (resource_id) SELECT id FROM resources ORDER BY id');
        await trx.raw(`
            INSERT INTO resources_fts (rowid, title, description, subjects)
            SELECT d.docid, r.title, coalesce(r.description, ''),
                   coalesce((SELECT group_concat(value, ' ') FROM json_each(CASE WHEN json_valid(r.subject) AND json_type(r.subject) = 'array' THEN r.subject ELSE '[]' END)), '')
            FROM resources r JOIN resource_search_docs d ON d.resource_id = r.id`);
        await trx.raw(`
            INSERT INTO resources_trgm (rowid, title, subjects)
            SELECT d.docid, r.title,
                   coalesce((SELECT group_concat(value, ' ') FROM json_each(CASE WHEN json_valid(r.subject) AND json_type(r.subject) = 'array' THEN r.subject ELSE '[]' END)), '')
            FROM resources r JOIN resource_search_docs d ON d.resource_id = r.id`);
    });
}
