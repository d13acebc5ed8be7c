// Full-text search on SQLite: FTS5 with bm25(title 10, description 5,
// subjects 2), the reference ranking the PostgreSQL plugin reproduces.

import type { Knex } from 'knex';

export type Binding = Knex.RawBinding;

import { compileFilters } from '../../server/search/filters';
import type { ParsedQuery, SearchTerm } from '../../server/search/query';
import { RESOURCE_COLUMNS } from '../../server/models';
import type { PageHit, SearchBackend, SearchFilters, SearchPage } from '../../server/search/types';

export interface CompiledSql {
    sql: string;
    bindings: Binding[];
}

// Every token is a quoted FTS5 string, so no user text is read as FTS5 syntax.
function quote(text: string): string {

    return `"${text.replace(/"/g, '""')}"`;
}

function termMatch(term: SearchTerm): string {

    if (term.kind === 'phrase') {
        return quote(term.words.join(' '));
    }

    return term.prefix ? `${quote(term.text)}*` : quote(term.text);
}

/** The whole query as one FTS5 MATCH expression. */
export function compileMatch(query: ParsedQuery): string {

    const positive = query.groups
        .map((group) => (group.length > 1 ? `(${group.map(termMatch).join(' OR ')})` : termMatch(group[0]!)))
        .join(' AND ');
    // FTS5's NOT is binary: (a AND b) NOT x NOT y.
    return query.excluded.reduce((expression, term) => `${expression} NOT ${termMatch(term)}`, `(${positive})`);
}

function filterSql(filters: SearchFilters): CompiledSql {

    return compileFilters(filters, (subjects) => ({
        sql: subjects.map(() => 'EXISTS (SELECT 1 FROM json_each(r.subject) WHERE json_each.value = ?)').join(' AND '),
        bindings: [...subjects]
    }));
}

const RANK = 'round(-bm25(resources_fts, 10.0, 5.0, 2.0), 9)';
const SNIPPET = "snippet(resources_fts, -1, char(2), char(3), ' … ', 24)";
const rowOf = (columns: readonly string[]) => columns.map((column) => `r."${column}"`).join(', ');

/** The CTEs every page statement shares: ranked (all matches), cutoff, page (with `columns` of r). */
function pageCtes(query: ParsedQuery, filters: SearchFilters, limit: number, offset: number, columns: string): CompiledSql {

    const filter = filterSql(filters);
    // Filters need the resources row of every match anyway. Without them,
    // reading the wide row of every match (for the tie-break) costs ten
    // times the ranking itself: only the rows at or above the page's lowest
    // rank are joined, and ties at that rank still get the full tie-break.
    const ranked = filter.sql ?
        `SELECT resources_fts.rowid AS docid, ${RANK} AS rank
         FROM resources_fts
         JOIN resource_search_docs d ON d.docid = resources_fts.rowid
         JOIN resources r ON r.id = d.resource_id
         WHERE resources_fts MATCH ?${filter.sql}` :
        `SELECT rowid AS docid, ${RANK} AS rank FROM resources_fts WHERE resources_fts MATCH ?`;

    return {
        sql: `
            WITH ranked AS MATERIALIZED (${ranked}),
            cutoff AS (
                SELECT rank FROM ranked ORDER BY rank DESC LIMIT 1 OFFSET ?
            ),
            page AS MATERIALIZED (
                SELECT ranked.docid AS search_docid, ranked.rank AS search_rank, ${columns}
                FROM ranked
                JOIN resource_search_docs d ON d.docid = ranked.docid
                JOIN resources r ON r.id = d.resource_id
                WHERE ranked.rank >= coalesce((SELECT rank FROM cutoff), -1e308)
                ORDER BY ranked.rank DESC, r.updated_at DESC, r.id ASC
                LIMIT ? OFFSET ?
            )`,
        bindings: [compileMatch(query), ...filter.bindings, offset + limit - 1, limit, offset]
    };
}

/**
 * One page in one statement: every match ranked once inside FTS5 (kept for
 * the exact total too), the resources rows of the page in the shared tie
 * order (rank desc, updated_at desc, id asc), and their snippets. When no
 * row is on the page, one row of NULLs still carries the total.
 */
export function pageSql(query: ParsedQuery, filters: SearchFilters, limit: number, offset: number, columns: readonly string[] = RESOURCE_COLUMNS): CompiledSql {

    const ctes = pageCtes(query, filters, limit, offset, rowOf(columns));
    return {
        sql: `${ctes.sql},
            -- One more pass over the matches, highlighting only the page's:
            -- (rowid + 0) keeps SQLite from probing FTS5 once per rowid,
            -- which parses and seeks the whole query each time.
            snippets AS MATERIALIZED (
                SELECT rowid AS docid, ${SNIPPET} AS snippet FROM resources_fts
                WHERE resources_fts MATCH ? AND (rowid + 0) IN (SELECT search_docid FROM page)
            )
            SELECT (SELECT count(*) FROM ranked) AS search_total, page.*, snippets.snippet AS search_snippet
            FROM (SELECT 1) AS one
            LEFT JOIN page
            LEFT JOIN snippets ON snippets.docid = page.search_docid
            ORDER BY page.search_rank DESC, page.updated_at DESC, page.id ASC`,
        bindings: [...ctes.bindings, compileMatch(query)]
    };
}

/**
 * The ranking alone, for the search benchmark's reference figure: the ids
 * and ranks of one page in the tie order and the exact total, without rows
 * or snippets.
 */
export function rankSql(query: ParsedQuery, filters: SearchFilters, limit: number, offset: number): CompiledSql {

    const ctes = pageCtes(query, filters, limit, offset, 'r.id, r.updated_at');
    return {
        sql: `${ctes.sql}
            SELECT (SELECT count(*) FROM ranked) AS total, page.id, page.search_rank AS rank
            FROM (SELECT 1) AS one LEFT JOIN page
            ORDER BY page.search_rank DESC, page.updated_at DESC, page.id ASC`,
        bindings: ctes.bindings
    };
}

/** The number of matches; with `upTo`, exact up to it and otherwise upTo + 1 (FTS5 stops there). */
export function countSql(query: ParsedQuery, filters: SearchFilters, upTo?: number): CompiledSql {

    const filter = filterSql(filters);
    const from = filter.sql ?
        'resources_fts JOIN resource_search_docs d ON d.docid = resources_fts.rowid JOIN resources r ON r.id = d.resource_id' :
        'resources_fts';
    const matches = `FROM ${from} WHERE resources_fts MATCH ?${filter.sql}`;
    const bindings: Binding[] = [compileMatch(query), ...filter.bindings];
    return upTo === undefined ?
        { sql: `SELECT count(*) AS total ${matches}`, bindings } :
        { sql: `SELECT count(*) AS total FROM (SELECT 1 ${matches} LIMIT ?) m`, bindings: [...bindings, upTo + 1] };
}

function trigramMatch(word: string): string | null {

    const grams = new Set<string>();
    for (let i = 0; i + 3 <= word.length; ++i) {
        grams.add(quote(word.slice(i, i + 3)));
    }

    return grams.size ? [...grams].join(' OR ') : null;
}

export function createSqliteSearchBackend(knex: Knex): SearchBackend {

    return {
        engine: 'sqlite',

        async page(query: ParsedQuery, filters: SearchFilters, limit: number, offset: number, _countUpTo: number | null, columns?: readonly string[]): Promise<SearchPage> {

            // The total stays exact whatever the page's countUpTo: FTS5 ranks
            // every match to find the page, so counting them costs nothing more.
            const page = pageSql(query, filters, limit, offset, columns);
            const rows: Array<Record<string, unknown>> = await knex.raw(page.sql, page.bindings);
            const hits: PageHit[] = [];
            for (const { search_total: _total, search_docid: _docid, search_rank: rank, search_snippet: snippet, ...row } of rows) {
                if (row.id !== null) {
                    hits.push({ row: row as PageHit['row'], rank: Number(rank), snippet: String(snippet ?? '') });
                }
            }

            return { total: Number(rows[0]?.search_total ?? 0), hits };
        },

        async count(query: ParsedQuery, filters: SearchFilters, upTo?: number): Promise<number> {

            const count = countSql(query, filters, upTo);
            const [{ total }] = await knex.raw(count.sql, count.bindings);
            return Number(total);
        },

        async similarTexts(word: string, limit: number): Promise<string[]> {

            const match = trigramMatch(word);
            if (!match) {
                return [];
            }

            // Titles and subjects sharing the most trigrams with the word come first.
            const rows: Array<{ title: string; subject: string }> = await knex.raw(`
                SELECT r.title, r.subject FROM (
                    SELECT rowid AS docid, bm25(resources_trgm) AS score FROM resources_trgm
                    WHERE resources_trgm MATCH ? ORDER BY score LIMIT ?
                ) t
                JOIN resource_search_docs d ON d.docid = t.docid JOIN resources r ON r.id = d.resource_id
                ORDER BY t.score, r.id`, [match, limit]);
            return rows.map((row) => `${row.title} ${row.subject}`);
        }
    };
}
