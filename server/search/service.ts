// The one search service both dialects share: parse, rank through the
// dialect's backend, load the resources, render snippets, suggest.

import type { Knex } from 'knex';

import { RESOURCE_COLUMNS, type Models } from '../models';
import { formatQuery, parseQuery, type ParsedQuery, type SearchTerm } from './query';
import { renderSnippet } from './snippet';
import { closestWord } from './suggest';
import type { FullTextSearch, SearchBackend, SearchFilters, SearchHit, SearchRequest, SearchResult } from './types';

export type ResourceLoader = (ids: string[], knex: Knex) => Promise<Array<Record<string, unknown> & { id: string }>>;

const SUGGESTION_SOURCES = 20;

/** Loads resources by id through the bound Resource model (same JSON shape as /resources). */
export function resourceLoader(models: Models): ResourceLoader {

    return async (ids, knex) => {

        const rows = await models.Resource.query(knex).select(RESOURCE_COLUMNS as unknown as string[]).findByIds(ids);
        return rows.map((row) => row.toJSON() as Record<string, unknown> & { id: string });
    };
}

async function suggest(backend: SearchBackend, query: ParsedQuery, filters: SearchFilters): Promise<string | undefined> {

    let changed = false;
    const replace = async (term: SearchTerm): Promise<SearchTerm> => {

        if (term.kind !== 'word' || term.prefix || term.text.length < 3) {
            return term;
        }

        // A word the library knows is not a typo, even when the whole query finds nothing.
        const alone = await backend.rank({ groups: [[term]], excluded: [] }, {}, 1, 0);
        if (alone.total > 0) {
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
    const { total } = await backend.rank(corrected, filters, 1, 0);
    return total > 0 ? formatQuery(corrected) : undefined;
}

/**
 * `backendFor` gives the dialect's backend running its statements on a knex:
 * the process-wide one, or the request-scoped view a caller passes in
 * SearchRequest.knex so the statements are attributed to its request.
 */
export function createFullTextSearch(backendFor: (knex: Knex) => SearchBackend, knex: Knex, loadResources: ResourceLoader): FullTextSearch {

    const shared = backendFor(knex);
    return {
        engine: shared.engine,
        async search(request: SearchRequest): Promise<SearchResult> {

            const db = request.knex ?? knex;
            const backend = request.knex ? backendFor(request.knex) : shared;
            const query = parseQuery(request.query);
            const filters = request.filters ?? {};
            const page = await backend.rank(query, filters, request.limit, request.offset);
            if (!page.total) {
                const suggestion = await suggest(backend, query, filters);
                return suggestion ? { total: 0, items: [], suggestion } : { total: 0, items: [] };
            }

            const ids = page.hits.map((hit) => hit.id);
            const [snippets, resources] = await Promise.all([backend.snippets(query, ids), loadResources(ids, db)]);
            const byId = new Map(resources.map((resource) => [resource.id, resource]));
            const items: SearchHit[] = [];
            for (const hit of page.hits) {
                const resource = byId.get(hit.id);
                // A resource deleted between the two statements is left out.
                if (resource) {
                    items.push({ resource, rank: hit.rank, snippet: renderSnippet(snippets.get(hit.id) ?? '') });
                }
            }

            return { total: page.total, items };
        }
    };
}
