// GET /search: full-text search through whichever FullTextSearch the manifest
// registered for the dialect (server.search); this route knows only the interface.

import Boom from '@hapi/boom';
import type { Request, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';

import { READ_STATUSES } from '../../server/models';
import { documented } from '../../server/openapi';
import { QueryError } from '../../server/search/query';
import type { SearchFilters } from '../../server/search/types';
import { searchResultSchema } from './response-schemas';
import { limit, offset, subjectFilter } from './schemas';

export const searchQuery = Joi.object({
    q: Joi.string().trim().min(1).max(1000).required()
        .description('Words, "quoted phrases", -excluded terms, OR between terms, prefix*'),
    subject: subjectFilter,
    classification_code: Joi.string().trim().max(32),
    read_status: Joi.string().valid(...READ_STATUSES),
    min_quality: Joi.number().min(0).max(1),
    exact_total: Joi.boolean().default(false)
        .description('Count every match; otherwise total is exact up to 10,000 and past it 10,000 with total_relation "gte"'),
    limit,
    offset
}).label('SearchQuery');

async function search(request: Request) {

    const { q, subject, classification_code, read_status, min_quality, exact_total: exactTotal, limit: pageSize, offset: skip } = request.query as Record<string, any>;
    const filters: SearchFilters = { subject, classification_code, read_status, min_quality };
    try {
        return await request.server.search.search({ query: q, filters, limit: pageSize, offset: skip, exactTotal, knex: request.knex });
    }
    catch (error) {
        if (error instanceof QueryError) {
            throw Boom.badRequest(`Invalid query "q": ${error.message}`);
        }

        throw error;
    }
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
