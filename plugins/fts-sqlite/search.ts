// Full-text search on SQLite: FTS5 with bm25(title 10, description 5,
// subjects 2), the reference ranking the PostgreSQL plugin reproduces.

import type { Knex } from 'knex';

export type Binding = Knex.RawBinding;

import { compileFilters } from '../../server/search/filters';
import type { ParsedQuery, SearchTerm } from '../../server/search/query';
import type { RankedPage, SearchBackend, SearchFilters } from '../../server/search/types';

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

/** The ranking statement: one page of (id, rank) in the shared tie order. */
export function rankSql(query: ParsedQuery, filters: SearchFilters, limit: number, offset: number): CompiledSql {

    const filter = filterSql(filters);
    const match = compileMatch(query);
    if (filter.sql) {
        // Filters need the resources row of every match anyway.
        return {
            sql: `
                SELECT d.resource_id AS id, round(-bm25(resources_fts, 10.0, 5.0, 2.0), 9) AS rank
                FROM resources_fts
                JOIN resource_search_docs d ON d.docid = resources_fts.rowid
                JOIN resources r ON r.id = d.resource_id
                WHERE resources_fts MATCH ?${filter.sql}
                ORDER BY rank DESC, r.updated_at DESC, r.id ASC
                LIMIT ? OFFSET ?`,
            bindings: [match, ...filter.bindings, limit, offset]
        };
    }

    // Reading the wide resources row of every match (for the updated_at, id
    // tie-break) costs ten times the ranking itself, so rank inside FTS5
    // first and join only the rows at or above the page's lowest rank: ties
    // at that rank still get the full tie-break.
    return {
        sql: `
            WITH ranked AS MATERIALIZED (
                SELECT rowid AS docid, round(-bm25(resources_fts, 10.0, 5.0, 2.0), 9) AS rank
                FROM resources_fts WHERE resources_fts MATCH ?
            ), cutoff AS (
                SELECT rank FROM ranked ORDER BY rank DESC LIMIT 1 OFFSET ?
            )
            SELECT d.resource_id AS id, ranked.rank
            FROM ranked
            JOIN resource_search_docs d ON d.docid = ranked.docid
            JOIN resources r ON r.id = d.resource_id
            WHERE ranked.rank >= coalesce((SELECT rank FROM cutoff), -1e308)
            ORDER BY ranked.rank DESC, r.updated_at DESC, r.id ASC
            LIMIT ? OFFSET ?`,
        bindings: [match, offset + limit - 1, limit, offset]
    };
}

export function countSql(query: ParsedQuery, filters: SearchFilters): CompiledSql {

    const filter = filterSql(filters);
    const from = filter.sql ?
        'resources_fts JOIN resource_search_docs d ON d.docid = resources_fts.rowid JOIN resources r ON r.id = d.resource_id' :
        'resources_fts';
    return {
        sql: `SELECT count(*) AS total FROM ${from} WHERE resources_fts MATCH ?${filter.sql}`,
        bindings: [compileMatch(query), ...filter.bindings]
    };
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

        async rank(query: ParsedQuery, filters: SearchFilters, limit: number, offset: number): Promise<RankedPage> {

            // One connection in the pool: the two statements run one after the other.
            const rank = rankSql(query, filters, limit, offset);
            const count = countSql(query, filters);
            const rows: Array<{ id: string; rank: number }> = await knex.raw(rank.sql, rank.bindings);
            const [{ total }] = await knex.raw(count.sql, count.bindings);
            return { total: Number(total), hits: rows.map((row) => ({ id: row.id, rank: Number(row.rank) })) };
        },

        async snippets(query: ParsedQuery, ids: string[]): Promise<Map<string, string>> {

            if (!ids.length) {
                return new Map();
            }

            // (rowid + 0) keeps SQLite from probing FTS5 one rowid at a time.
            const rows: Array<{ id: string; snippet: string }> = await knex.raw(`
                SELECT d.resource_id AS id, snippet(resources_fts, -1, char(2), char(3), ' … ', 24) AS snippet
                FROM resources_fts JOIN resource_search_docs d ON d.docid = resources_fts.rowid
                WHERE resources_fts MATCH ?
                  AND (resources_fts.rowid + 0) IN (SELECT docid FROM resource_search_docs WHERE resource_id IN (${ids.map(() => '?').join(', ')}))`,
            [compileMatch(query), ...ids]);
            return new Map(rows.map((row) => [row.id, row.snippet]));
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
