// The contract of full-text search, implemented once per dialect by the
// fts-sqlite and fts-postgres plugins.

import type { Knex } from 'knex';

import type { ParsedQuery } from './query';

export interface SearchFilters {
    /** Every listed subject must be present. */
    subject?: string[];
    classification_code?: string;
    read_status?: string;
    min_quality?: number;
}

export interface SearchRequest {
    query: string;
    filters?: SearchFilters;
    limit: number;
    offset: number;
    /** Large resource fields to return too (server/resource-fields.ts); left out by default. */
    include?: readonly string[];
    /** Runs the statements on this knex (e.g. request.knex, so they count for the request). */
    knex?: Knex;
    /** Count every match, however many (by default counting stops past EXACT_TOTAL_UP_TO). */
    exactTotal?: boolean;
}

/** "eq": `total` is the number of matches; "gte": there are at least `total` (Elasticsearch's convention). */
export type TotalRelation = 'eq' | 'gte';

export interface SearchHit<R = Record<string, unknown>> {
    resource: R;
    /** bm25 relevance (higher is better), rounded to 9 decimals on both engines. */
    rank: number;
    /** HTML-escaped fragment with <mark> around matched terms. */
    snippet: string;
}

export interface SearchResult<R = Record<string, unknown>> {
    total: number;
    total_relation: TotalRelation;
    items: SearchHit<R>[];
    /** A "did you mean" query when nothing matched and a close query does. */
    suggestion?: string;
}

export interface FullTextSearch {
    readonly engine: string;
    search(request: SearchRequest): Promise<SearchResult>;
}

export interface PageHit {
    /** The resource's row as the database returns it (the columns asked for; RESOURCE_COLUMNS by default). */
    row: Record<string, unknown> & { id: string };
    rank: number;
    /** Raw snippet text, matches wrapped in SNIPPET_START / SNIPPET_END. */
    snippet: string;
}

export interface SearchPage {
    /**
     * Number of matching resources (after filters): exact up to the page's
     * `countUpTo`; past it, any number above `countUpTo` (counting may stop).
     */
    total: number;
    /** Ordered by rank desc, updated_at desc, id asc. */
    hits: PageHit[];
}

/**
 * What each fts plugin implements for its engine; the shared search service
 * (server/search/service.ts) turns it into a FullTextSearch. Every method runs
 * plain statements (no transaction), so a pool connection is held only for
 * the length of one query.
 */
export interface SearchBackend {
    readonly engine: string;
    /**
     * One page of results with their rows, ranks and snippets, and the
     * total: ranking, counting, loading and highlighting in as few round
     * trips as the engine allows. With `countUpTo`, counting may stop once
     * more than that many matches are found (null: count them all).
     */
    page(query: ParsedQuery, filters: SearchFilters, limit: number, offset: number, countUpTo: number | null, columns?: readonly string[]): Promise<SearchPage>;
    /** The number of matches: exact up to `upTo`, past it any number above `upTo` (counting may stop). */
    count(query: ParsedQuery, filters: SearchFilters, upTo?: number): Promise<number>;
    /** Titles and subject lists that look like `word` (trigram similarity), best first. */
    similarTexts(word: string, limit: number): Promise<string[]>;
}
