// Full-text search on PostgreSQL with FTS5's ranking: bm25 (k1 = 1.2,
// b = 0.75, column weights title 10, description 5, subjects 2) computed in
// SQL. For one term, ts_rank_cd with weights {D 0.1, C 0.2, B 0.5, A 1.0} and
// no normalization is (10·tf_title + 5·tf_description + 2·tf_subjects) / 10,
// i.e. FTS5's weighted term frequency (an integer once multiplied by 10; it is
// rounded because ts_rank_cd returns a float4); the document length, the average
// length and the document frequencies come from the side table and the
// statistics the triggers of migration 20261123000300 keep current.

import type { Knex } from 'knex';

export type Binding = Knex.RawBinding;

import { compileFilters } from '../../server/search/filters';
import { positiveTerms, type ParsedQuery, type SearchTerm } from '../../server/search/query';
import { SNIPPET_END, SNIPPET_START } from '../../server/search/snippet';
import { RESOURCE_COLUMNS } from '../../server/models';
import type { PageHit, SearchBackend, SearchFilters, SearchPage } from '../../server/search/types';

export interface CompiledSql {
    sql: string;
    bindings: Binding[];
}

function termQuery(term: SearchTerm): CompiledSql {

    if (term.kind === 'phrase') {
        return { sql: "phraseto_tsquery('english_nostop', ?)", bindings: [term.words.join(' ')] };
    }

    if (term.prefix) {
        // Words hold only letters and digits, so quoting them is enough.
        return { sql: "to_tsquery('english_nostop', ?)", bindings: [`'${term.text}':*`] };
    }

    return { sql: "plainto_tsquery('english_nostop', ?)", bindings: [term.text] };
}

function join(parts: CompiledSql[], operator: string): CompiledSql {

    return { sql: parts.map((part) => part.sql).join(operator), bindings: parts.flatMap((part) => part.bindings) };
}

/** The whole query as one tsquery expression. */
export function compileTsquery(query: ParsedQuery): CompiledSql {

    const groups = query.groups.map((group) => {

        const or = join(group.map(termQuery), ' || ');
        return { sql: `(${or.sql})`, bindings: or.bindings };
    });
    const excluded = query.excluded.map((term) => {

        const compiled = termQuery(term);
        return { sql: `!!(${compiled.sql})`, bindings: compiled.bindings };
    });
    const all = join([...groups, ...excluded], ' && ');
    return { sql: `(${all.sql})`, bindings: all.bindings };
}

function filterSql(filters: SearchFilters): CompiledSql {

    // @> on jsonb uses the jsonb_path_ops GIN index.
    return compileFilters(filters, (subjects) => ({ sql: 'r.subject @> ?::jsonb', bindings: [JSON.stringify(subjects)] }));
}

/** The matching documents, joined to resources only when a filter needs it. */
function matchesSql(query: ParsedQuery, filters: SearchFilters, columns: string): CompiledSql {

    const tsquery = compileTsquery(query);
    const filter = filterSql(filters);
    const from = filter.sql ? 'resource_search rs JOIN resources r ON r.id = rs.resource_id' : 'resource_search rs';
    return {
        sql: `SELECT ${columns} FROM ${from} WHERE rs.vec @@ ${tsquery.sql}${filter.sql}`,
        bindings: [...tsquery.bindings, ...filter.bindings]
    };
}

/** Pages deeper than the champion lists are ranked over every match. */
export const CHAMPION_PAGE_LIMIT = 500;

const LEXEME = "(tsvector_to_array(to_tsvector('english_nostop', ?)))[1]";

// The documents whose text changed since the champion lists were built: those
// whose last writer is not visible in the snapshot the build read (a change
// number alone misses a writer that drew a lower number than the build read
// but committed after it), and those numbered after the build (a restored
// dump brings another cluster's transaction ids, not its sequence's).
// The build's values are scalar subqueries (one-time parameters), so both
// parts are ranges on their indexes: as a join with the state row, the
// planner scanned resource_search sequentially.
const CHANGED = `SELECT resource_id FROM resource_search
                 WHERE changed_xid >= (SELECT pg_snapshot_xmin(snap) FROM search_champion_state WHERE id = 1)
                   AND NOT pg_visible_in_snapshot(changed_xid, (SELECT snap FROM search_champion_state WHERE id = 1))
                 UNION
                 SELECT resource_id FROM resource_search
                 WHERE changed_seq > (SELECT built_seq FROM search_champion_state WHERE id = 1)`;

/** The number of documents changed since the champion lists were built. */
export const CHANGED_COUNT_SQL = `SELECT count(*)::integer AS changed FROM (${CHANGED}) c`;

// bm25 scores are rounded to 9 decimals; a candidate proves its place when it
// beats the bound by more than that rounding and float8's error.
const BOUND_MARGIN = 1e-8;

/**
 * The documents worth ranking: for each plain word with a champion list, its
 * champions; for any other term, all of its matches (few, or it would have a
 * list); and every document changed since the lists were built.
 */
function candidatesSql(query: ParsedQuery): CompiledSql {

    const parts = positiveTerms(query).map((term) => {

        const tsquery = termQuery(term);
        if (term.kind === 'word' && !term.prefix) {
            return {
                sql: `SELECT resource_id FROM search_champions WHERE lexeme = ${LEXEME}
                      UNION ALL
                      SELECT d.resource_id FROM resource_search d
                      WHERE NOT EXISTS (SELECT 1 FROM search_champion_floors f WHERE f.lexeme = ${LEXEME}) AND d.vec @@ ${tsquery.sql}`,
                bindings: [term.text, term.text, ...tsquery.bindings]
            };
        }

        return { sql: `SELECT d.resource_id FROM resource_search d WHERE d.vec @@ ${tsquery.sql}`, bindings: tsquery.bindings };
    });
    parts.push({ sql: CHANGED, bindings: [] });
    return join(parts, ' UNION ');
}

type WordTerm = Extract<SearchTerm, { kind: 'word' }>;

/** A plain word: one lexeme, which may have a champion list. */
const isListable = (term: SearchTerm): term is WordTerm => term.kind === 'word' && !term.prefix;

/**
 * The ranking statement: one page of (id, rank, updated, listed, exact) in
 * the shared tie order. With `champions` and a word of the query with a
 * champion list (`listed`), only the candidates of candidatesSql are ranked,
 * and `exact` says whether they prove the page: the page's last document
 * outranks every document that is not a candidate (false: rank every match
 * instead). Otherwise every match is ranked and `exact` is true.
 */
export function rankSql(query: ParsedQuery, filters: SearchFilters, limit: number, offset: number, champions = false): CompiledSql {

    // Unrolled per term (at most MAX_QUERY_TERMS) so the statement plans as a
    // plain scan with expressions, without correlated sub-plans per row.
    // A plain word's document frequency is read from the statistics; a
    // phrase's or prefix's is counted, as FTS5 counts it.
    const terms = positiveTerms(query).map((term) => ({ term, tsquery: termQuery(term) }));
    const idf: CompiledSql[] = terms.map(({ term, tsquery }, i) => {

        const df = isListable(term) ?
            { sql: `coalesce((SELECT ndoc FROM search_lexeme_stats WHERE lexeme = ${LEXEME}), 0)`, bindings: [term.text] } :
            { sql: `(SELECT count(*) FROM resource_search d WHERE d.vec @@ ${tsquery.sql})`, bindings: tsquery.bindings };
        return { sql: `greatest(ln((c.n - ${df.sql}::float8 + 0.5) / (${df.sql}::float8 + 0.5)), 1e-6) AS idf${i}`, bindings: [...df.bindings, ...df.bindings] };
    });
    // The floor of each plain word's champion list (NULL: the word has none).
    const floors: CompiledSql[] = champions ?
        terms.map(({ term }, i) => (isListable(term) ?
            { sql: `(SELECT floor FROM search_champion_floors WHERE lexeme = ${LEXEME}) AS floor${i}`, bindings: [term.text] } :
            { sql: `NULL::float8 AS floor${i}`, bindings: [] })) :
        [];
    const tf = terms.map(({ tsquery }, i) => ({
        sql: `round(ts_rank_cd('{0.1,0.2,0.5,1.0}', rs.vec, ${tsquery.sql}, 0)::float8 * 10) AS tf${i}`,
        bindings: tsquery.bindings
    }));
    const score = terms.map((_, i) => `s.idf${i} * (f.tf${i} * 2.2) / (f.tf${i} + 1.2 * (0.25 + 0.75 * rs.doc_len / s.avgdl))`).join(' + ');
    const stats = join([...idf, ...floors], ', ');
    const tfs = join(tf, ', ');
    const tsquery = compileTsquery(query);
    const filter = filterSql(filters);
    const corpus = `
            WITH corpus AS MATERIALIZED (
                SELECT coalesce(max(ndocs), 0)::float8 AS n,
                       coalesce(max(total_len)::float8 / nullif(max(ndocs), 0), 1) AS avgdl
                FROM search_corpus_stats
            ), stats AS MATERIALIZED (
                SELECT c.avgdl, ${stats.sql} FROM corpus c
            )`;
    const ranked = (source: string, condition: CompiledSql): CompiledSql => ({
        sql: `SELECT rs.resource_id AS id, round((${score})::numeric, 9)::float8 AS rank, rs.updated_at AS updated
              FROM ${source}${filter.sql ? ' JOIN resources r ON r.id = rs.resource_id' : ''} CROSS JOIN stats s
              CROSS JOIN LATERAL (SELECT ${tfs.sql}) f
              WHERE ${condition.sql}rs.vec @@ ${tsquery.sql}${filter.sql}`,
        bindings: [...tfs.bindings, ...condition.bindings, ...tsquery.bindings, ...filter.bindings]
    });
    const order = 'ORDER BY rank DESC, updated DESC, id ASC';

    if (!champions) {
        const all = ranked('resource_search rs', { sql: '', bindings: [] });
        return { sql: `${corpus} SELECT *, false AS listed, true AS exact FROM (${all.sql}) ranked ${order} LIMIT ? OFFSET ?`, bindings: [...stats.bindings, ...all.bindings, limit, offset] };
    }

    // Two branches behind one-time filters, so exactly one runs and each
    // keeps its own plan at every library size. When a word of the query has
    // a champion list, the few hundred candidates are fetched by primary key
    // (OFFSET 0 keeps @@ out of that scan: combined with the GIN index in a
    // BitmapAnd, it read every match of a frequent word). Otherwise the
    // candidates are every match anyway, read through the GIN index alone.
    const candidates = candidatesSql(query);
    const listable = terms.flatMap(({ term }, i) => (isListable(term) ? [`s.floor${i} IS NOT NULL`] : []));
    const listed = listable.length ? listable.join(' OR ') : 'false';
    // A group of one term whose every match is a candidate: no other document matches.
    const enumerated = query.groups
        .filter((group) => group.length === 1)
        .map((group) => terms.findIndex(({ term }) => term === group[0]))
        .map((i) => (isListable(terms[i]!.term) ? `s.floor${i} IS NULL` : 'true'));
    // The best score a document outside the candidates can have: each listed
    // word's floor at its idf, the impacts rescaled for the average length's
    // change since the build (a longer average raises every length factor,
    // by at most the ratio; a shorter one lowers them).
    const bound = terms
        .map(({ term }, i) => (isListable(term) ? `coalesce(s.idf${i} * s.floor${i}, 0)` : '0'))
        .join(' + ');
    const byKey = ranked(
        '(SELECT * FROM resource_search WHERE resource_id = ANY((SELECT ids FROM cand)::uuid[]) OFFSET 0) rs',
        { sql: '(SELECT listed FROM cand) AND ', bindings: [] });
    const byIndex = ranked('resource_search rs', { sql: 'NOT (SELECT listed FROM cand) AND ', bindings: [] });
    return {
        sql: `${corpus}, cand AS MATERIALIZED (
                -- The candidates are gathered only when they will be used.
                SELECT l.listed, l.enumerated, l.bound, CASE WHEN l.listed THEN (SELECT array_agg(DISTINCT resource_id) FROM (${candidates.sql}) u) END AS ids
                FROM (
                    SELECT ${listed} AS listed, ${enumerated.length ? enumerated.join(' OR ') : 'false'} AS enumerated,
                           (${bound}) * greatest(1, s.avgdl / coalesce((SELECT avgdl FROM search_champion_state WHERE id = 1), s.avgdl)) AS bound
                    FROM stats s
                ) l
            ), top AS MATERIALIZED (
                SELECT * FROM (${byKey.sql} UNION ALL ${byIndex.sql}) ranked ${order} LIMIT ?
            )
            SELECT top.*, c.listed, (NOT c.listed OR c.enumerated
                           OR ((SELECT count(*) FROM top) = ? AND (SELECT min(rank) FROM top) > c.bound * (1 + 1e-12) + ${BOUND_MARGIN})) AS exact
            FROM top CROSS JOIN cand c ${order} OFFSET ?`,
        bindings: [...stats.bindings, ...candidates.bindings, ...byKey.bindings, ...byIndex.bindings, offset + limit, offset + limit, offset]
    };
}

/**
 * The number of matches; with `upTo`, exact up to it and otherwise upTo + 1
 * (the heap is read for at most upTo + 1 matches).
 */
export function countSql(query: ParsedQuery, filters: SearchFilters, upTo?: number): CompiledSql {

    const only = query.groups.length === 1 && query.groups[0]!.length === 1 && !query.excluded.length ? query.groups[0]![0]! : null;
    if (only && only.kind === 'word' && !only.prefix && !filterSql(filters).sql) {
        // One plain word: its document frequency is the exact total, kept by
        // the triggers; counting 20,000 matches would cost tens of milliseconds.
        const count = matchesSql(query, filters, 'count(*)');
        return {
            sql: `SELECT CASE WHEN numnode(plainto_tsquery('english_nostop', ?)) = 1
                              THEN coalesce((SELECT ndoc FROM search_lexeme_stats WHERE lexeme = ${LEXEME}), 0)
                              ELSE (${count.sql}) END AS total`,
            bindings: [only.text, only.text, ...count.bindings]
        };
    }

    if (upTo === undefined) {
        return matchesSql(query, filters, 'count(*) AS total');
    }

    // Planned as a whole scan (a CTE is), read only as far as the LIMIT: with
    // the LIMIT in view the planner chose a sequential scan expecting to stop
    // early, and detoasted every vector on the way (0.7 s instead of 0.1 s).
    const matches = matchesSql(query, filters, '1');
    return {
        sql: `WITH m AS MATERIALIZED (${matches.sql}) SELECT count(*) AS total FROM (SELECT 1 FROM m LIMIT ?) l`,
        bindings: [...matches.bindings, upTo + 1]
    };
}

const HEADLINE_OPTIONS = `StartSel=${SNIPPET_START}, StopSel=${SNIPPET_END}, MaxWords=24, MinWords=10, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "`;
const rowOf = (columns: readonly string[]) => columns.map((column) => `r."${column}"`).join(', ');

/**
 * One page in one statement: the ranking of rankSql, then the resources rows
 * of the page and their headlines (ts_headline runs for the page only).
 */
export function pageSql(query: ParsedQuery, filters: SearchFilters, limit: number, offset: number, champions = false, columns: readonly string[] = RESOURCE_COLUMNS): CompiledSql {

    const rank = rankSql(query, filters, limit, offset, champions);
    const tsquery = compileTsquery(query);
    return {
        sql: `
            WITH page AS (${rank.sql})
            SELECT page.rank AS search_rank, page.exact AS search_exact, ${rowOf(columns)},
                   -- A page the candidates cannot prove is ranked again over every match.
                   CASE WHEN page.exact THEN ts_headline('english_nostop', concat_ws(E'\\n', r.title, r.description,
                       (SELECT string_agg(value, ' ') FROM jsonb_array_elements_text(
                           CASE WHEN jsonb_typeof(r.subject) = 'array' THEN r.subject ELSE '[]'::jsonb END))),
                       ${tsquery.sql}, ?) END AS search_snippet
            FROM page JOIN resources r ON r.id = page.id
            ORDER BY page.rank DESC, page.updated DESC, page.id ASC`,
        bindings: [...rank.bindings, ...tsquery.bindings, HEADLINE_OPTIONS]
    };
}

export function createPostgresSearchBackend(knex: Knex): SearchBackend {

    const count = async (query: ParsedQuery, filters: SearchFilters, upTo?: number): Promise<number> => {

        const counted = countSql(query, filters, upTo);
        return Number((await knex.raw(counted.sql, counted.bindings)).rows[0].total);
    };

    return {
        engine: 'postgres',

        async page(query: ParsedQuery, filters: SearchFilters, limit: number, offset: number, countUpTo: number | null, columns?: readonly string[]): Promise<SearchPage> {

            const champions = offset + limit <= CHAMPION_PAGE_LIMIT;
            const page = pageSql(query, filters, limit, offset, champions, columns);
            // Two statements on two pool connections, each released when its
            // statement ends. A bounded total still tells whether matches
            // remain past the page: countUpTo is far above the deepest champion page.
            const [paged, total] = await Promise.all([knex.raw(page.sql, page.bindings), count(query, filters, countUpTo ?? undefined)]);
            let rows: Array<Record<string, unknown>> = paged.rows;
            if (champions && (rows.length ? !rows[0]!.search_exact : total > offset)) {
                // The candidates do not prove the page (filters, common words
                // rarely found together, a page past them): rank every match.
                const full = pageSql(query, filters, limit, offset, false, columns);
                rows = (await knex.raw(full.sql, full.bindings)).rows;
            }

            const hits = rows.map(({ search_rank: rank, search_exact: _exact, search_snippet: snippet, ...row }): PageHit =>
                ({ row: row as PageHit['row'], rank: Number(rank), snippet: String(snippet ?? '') }));
            return { total, hits };
        },

        count,

        async similarTexts(word: string, limit: number): Promise<string[]> {

            // <% uses the trigram indexes on title and subject::text; its
            // default threshold (0.6) misses common typos, so it is lowered for
            // this one statement (SET LOCAL ends with the transaction).
            const { rows } = await knex.transaction(async (trx): Promise<{ rows: Array<{ title: string; subjects: string }> }> => {

                await trx.raw('SET LOCAL pg_trgm.word_similarity_threshold = 0.3');
                return await trx.raw(`
                    SELECT title, subject::text AS subjects FROM resources
                    WHERE ? <% title OR ? <% (subject::text)
                    ORDER BY greatest(word_similarity(?, title), word_similarity(?, subject::text)) DESC, id
                    LIMIT ?`, [word, word, word, word, limit]);
            });
            return rows.map((row: { title: string; subjects: string }) => `${row.title} ${row.subjects}`);
        }
    };
}

/**
 * Rebuilds the champion lists when at least `threshold` documents changed
 * since the last build (changed documents are always ranked, so until then
 * results stay exact for them; the lists only grow slower to use).
 */
export async function refreshChampionsIfStale(knex: Knex, threshold: number): Promise<number | null> {

    const { rows } = await knex.raw(`SELECT (${CHANGED_COUNT_SQL}) AS changed, EXISTS (SELECT 1 FROM search_champion_state) AS built`);
    const changed: number = rows[0].changed;
    if (changed < threshold && rows[0].built) {
        return null;
    }

    await knex.transaction(async (trx) => {

        // A rebuild outlasts the pool's statement timeout on a large library.
        await trx.raw('SET LOCAL statement_timeout = 0');
        await trx.raw('SELECT search_champions_refresh()');
    });
    return changed;
}
