// The one search service both dialects share: parse, fetch a page through
// the dialect's backend (ranked rows with snippets and the total), shape the
// resources, render snippets, suggest.

import Boom from '@hapi/boom';
import type { Knex } from 'knex';

import type { Models } from '../models';
import { listColumns } from '../resource-fields';
import { formatQuery, parseQuery, QueryError, type ParsedQuery, type SearchTerm } from './query';
import { renderSnippet } from './snippet';
import { closestWord } from './suggest';
import type { FullTextSearch, SearchBackend, SearchFilters, SearchHit, SearchRequest, SearchResult } from './types';

const SUGGESTION_SOURCES = 20;

/**
 * `total` is exact up to this many matches; past it the search answers this
 * figure with total_relation "gte" unless the client asks for the exact total,
 * so a frequent word is not counted to the last match on every page.
 */
export const EXACT_TOTAL_UP_TO = 10_000;

/** Turns a resource row from the database into its API JSON (as /resources). */
export type ResourceShaper = (row: Record<string, unknown>) => Record<string, unknown>;

/** The bound Resource model's normalisation: the same JSON as GET /resources/{id}. */
export function resourceShaper(models: Models): ResourceShaper {

    return (row) => models.Resource.fromDatabaseJson(row).toJSON() as Record<string, unknown>;
}

async function suggest(backend: SearchBackend, query: ParsedQuery, filters: SearchFilters): Promise<string | undefined> {

    let changed = false;
    const replace = async (term: SearchTerm): Promise<SearchTerm> => {

        if (term.kind !== 'word' || term.prefix || term.text.length < 3) {
            return term;
        }

        // A word the library knows is not a typo, even when the whole query finds nothing.
        if (await backend.count({ groups: [[term]], excluded: [] }, {}, 0) > 0) {
            return term;
        }

        const texts = await backend.similarTexts(term.text, SUGGESTION_SOURCES);
        const closest = closestWord(term.text, texts);
        if (!closest) {
            return term;
        }

        changed = true;
        return { kind: 'word', text: closest, prefix: false };
    };

    const groups: SearchTerm[][] = [];
    for (const group of query.groups) {
        const terms: SearchTerm[] = [];
        for (const term of group) {
            terms.push(await replace(term));
        }

        groups.push(terms);
    }

    if (!changed) {
        return undefined;
    }

    // Only suggest a query that finds something.
    const corrected = { groups, excluded: query.excluded };
    return await backend.count(corrected, filters, 0) > 0 ? formatQuery(corrected) : undefined;
}

/**
 * The query as a tree, or the 400 every caller answers (GET /search and the
 * console's tryout alike) with the parser's message saying what to fix.
 */
export function parseOr400(text: string): ParsedQuery {

    try {
        return parseQuery(text);
    }
    catch (error) {
        if (error instanceof QueryError) {
            throw Boom.badRequest(`Invalid query "q": ${error.message}`);
        }

        throw error;
    }
}

/**
 * `backendFor` gives the dialect's backend running its statements on a knex:
 * the process-wide one, or the request-scoped view a caller passes in
 * SearchRequest.knex so the statements are attributed to its request.
 */
export function createFullTextSearch(backendFor: (knex: Knex) => SearchBackend, knex: Knex, shape: ResourceShaper): FullTextSearch {

    const shared = backendFor(knex);
    return {
        engine: shared.engine,
        async search(request: SearchRequest): Promise<SearchResult> {

            const backend = request.knex ? backendFor(request.knex) : shared;
            const query = parseOr400(request.query);
            const filters = request.filters ?? {};
            const page = await backend.page(query, filters, request.limit, request.offset, request.exactTotal ? null : EXACT_TOTAL_UP_TO, listColumns(request.include));
            if (!page.total) {
                const suggestion = await suggest(backend, query, filters);
                return suggestion ? { total: 0, total_relation: 'eq', items: [], suggestion } : { total: 0, total_relation: 'eq', items: [] };
            }

            const items: SearchHit[] = page.hits.map((hit) => ({ resource: shape(hit.row), rank: hit.rank, snippet: renderSnippet(hit.snippet) }));
            return !request.exactTotal && page.total > EXACT_TOTAL_UP_TO ?
                { total: EXACT_TOTAL_UP_TO, total_relation: 'gte', items } :
                { total: page.total, total_relation: 'eq', items };
        }
    };
}
