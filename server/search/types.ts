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
    /** Runs the statements on this knex (e.g. request.knex, so they count for the request). */
    knex?: Knex;
}

export interface SearchHit<R = Record<string, unknown>> {
    resource: R;
    /** bm25 relevance (higher is better), rounded to 9 decimals on both engines. */
    rank: number;
    /** HTML-escaped fragment with <mark> around matched terms. */
    snippet: string;
}

export interface SearchResult<R = Record<string, unknown>> {
    total: number;
    items: SearchHit<R>[];
    /** A "did you mean" query when nothing matched and a close query does. */
    suggestion?: string;
}

export interface FullTextSearch {
    readonly engine: string;
    search(request: SearchRequest): Promise<SearchResult>;
}

export interface RankedId {
    id: string;
    rank: number;
}

export interface RankedPage {
    /** Exact number of matching resources (after filters). */
    total: number;
    hits: RankedId[];
}

/**
 * What each fts plugin implements for its engine; the shared search service
 * (server/search/service.ts) turns it into a FullTextSearch. Every method runs
 * plain statements (no transaction), so a pool connection is held only for
 * the length of one query.
 */
export interface SearchBackend {
    readonly engine: string;
    /** One page of ids ordered by rank desc, updated_at desc, id asc; and the exact total. */
    rank(query: ParsedQuery, filters: SearchFilters, limit: number, offset: number): Promise<RankedPage>;
    /** Raw snippet text per id, matches wrapped in SNIPPET_START / SNIPPET_END. */
    snippets(query: ParsedQuery, ids: string[]): Promise<Map<string, string>>;
    /** Titles and subject lists that look like `word` (trigram similarity), best first. */
    similarTexts(word: string, limit: number): Promise<string[]>;
}
