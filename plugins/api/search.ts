// GET /search: full-text search through whichever FullTextSearch the manifest
// registered for the dialect (server.search); this route knows only the interface.

import type { Request, ServerRoute } from '@hapi/hapi';

import { Joi } from '../../server/input';
import { READ_STATUSES } from '../../server/models';
import { documented } from '../../server/openapi';
import { includeParam } from '../../server/resource-fields';
import type { SearchFilters } from '../../server/search/types';
import { searchResultSchema } from './response-schemas';
import { limitWithInclude, offset, subjectFilter } from './schemas';

/** The query language in a sentence or two (OpenAPI; README has the long form). */
export const SEARCH_LANGUAGE = 'Words (all must match; AND may be written), "exact phrases", -excluded or NOT excluded terms, ' +
    'a OR b between alternatives, parentheses around alternatives only ("ships (boats OR rafts)"), prefix*. ' +
    'Very common words (the, such) are ignored when the query has other words, and searched when it has only them. ' +
    'Anything else is a 400 that says what to fix.';

export const searchQuery = Joi.object({
    q: Joi.string().trim().min(1).max(1000).required()
        .description(SEARCH_LANGUAGE),
    subject: subjectFilter,
    classification_code: Joi.string().trim().max(32),
    read_status: Joi.string().valid(...READ_STATUSES),
    min_quality: Joi.number().min(0).max(1),
    exact_total: Joi.boolean().default(false)
        .description('Count every match; otherwise total is exact up to 10,000 and past it 10,000 with total_relation "gte"'),
    limit: limitWithInclude,
    offset,
    include: includeParam
}).label('SearchQuery');

async function search(request: Request) {

    const { q, subject, classification_code, read_status, min_quality, exact_total: exactTotal, limit: pageSize, offset: skip, include } = request.query as Record<string, any>;
    const filters: SearchFilters = { subject, classification_code, read_status, min_quality };
    // The service answers 400 for a query the language cannot read.
    return await request.server.search.search({ query: q, filters, limit: pageSize, offset: skip, exactTotal, include, knex: request.knex });
}

export const searchRoutes: ServerRoute[] = [
    {
        method: 'GET',
        path: '/search',
        handler: search,
        options: {
            tags: ['api', 'search'],
            description: 'Full-text search ranked by bm25 (title > description > subjects), with snippets and "did you mean"',
            validate: { query: searchQuery },
            plugins: documented({ responses: { 200: { description: 'Ranked hits with snippets, the total (exact, or a lower bound past 10,000) and maybe a suggestion', schema: searchResultSchema } } })
        }
    }
];
