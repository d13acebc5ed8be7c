// The contract of full-text search, implemented once per dialect by the
// fts-sqlite and fts-postgres plugins.

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
}

export interface SearchHit<R = Record<string, unknown>> {
    resource: R;
    rank: number;
    /** HTML-escaped fragment with <mark> around matched terms. */
    snippet: string;
}

export interface SearchResult<R = Record<string, unknown>> {
    total: number;
    items: SearchHit<R>[];
    /** A "did you mean" query when nothing (or little) matched. */
    suggestion?: string;
}

export interface FullTextSearch {
    readonly engine: string;
    search(request: SearchRequest): Promise<SearchResult>;
}
