// /collections: CRUD, nesting without cycles, membership of resources.

import Boom from '@hapi/boom';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import type { Transaction } from 'objection';

import { Joi } from '../../server/input';
import { VISIBILITIES, type Models } from '../../server/models';
import { documented } from '../../server/openapi';
import { includeParam, listColumns } from '../../server/resource-fields';
import { createIdempotently } from './idempotency';
import { pageWithTotal } from './pagination';
import { withReferences } from './resources';
import { collectionListSchema, collectionSchema, collectionWithCountSchema, resourceListSchema } from './response-schemas';
import { collectionCreate, collectionPatch, idParam, limit, limitWithInclude, offset, paramsOf, uuid } from './schemas';

const REFERENCES = 'owner_id or parent_id refers to a record that does not exist';
const MAX_DEPTH = 100;

async function findOr404(models: Models, id: string, trx?: Transaction) {

    const collection = await models.Collection.query(trx).findById(id);
    if (!collection) {
        throw Boom.notFound(`Collection ${id} not found`);
    }

    return collection;
}

/** Refuses a parent that is the collection itself or one of its descendants. */
async function assertNoCycle(models: Models, id: string, parentId: string | null | undefined, trx: Transaction) {

    let current = parentId ?? null;
    for (let depth = 0; current; ++depth) {
        if (current === id) {
            throw Boom.badData('parent_id would make the collection its own ancestor');
        }

        if (depth > MAX_DEPTH) {
            throw Boom.badData(`Collections nest at most ${MAX_DEPTH} levels deep`);
        }

        const parent = await models.Collection.query(trx).select('parent_id').findById(current);
        if (!parent) {
            throw Boom.badData(`parent_id ${current} does not exist`);
        }

        current = parent.parent_id;
    }
}

export const collectionRoutes: ServerRoute[] = [
    {
        method: 'GET',
        path: '/collections',
        options: {
            tags: ['api', 'collections'],
            description: 'List collections',
            validate: {
                query: Joi.object({
                    owner_id: uuid,
                    parent_id: uuid,
                    visibility: Joi.string().valid(...VISIBILITIES),
                    limit,
                    offset
                })
            },
            plugins: documented({ responses: { 200: { description: 'A page of collections, by name', schema: collectionListSchema } } }),
            async handler(request: Request) {

                const { Collection } = request.models;
                const query = request.query as Record<string, any>;
                const filtered = () => {

                    const builder = Collection.query();
                    for (const key of ['owner_id', 'parent_id', 'visibility']) {
                        if (query[key] !== undefined) {
                            builder.where(key, query[key]);
                        }
                    }

                    return builder;
                };

                return await pageWithTotal(filtered().orderBy('name').orderBy('id').limit(query.limit).offset(query.offset), filtered());
            }
        }
    },
    {
        method: 'POST',
        path: '/collections',
        options: {
            tags: ['api', 'collections'],
            description: 'Create a collection',
            validate: { payload: collectionCreate },
            plugins: documented({ responses: { 201: { description: 'The created collection (Location: its URL)', schema: collectionSchema } }, errors: [409, 422] }),
            async handler(request: Request, h: ResponseToolkit) {

                const { Collection } = request.models;
                return await createIdempotently(request, h, async (trx) => {

                    const created = await withReferences(() => Collection.query(trx).insertAndFetch(request.payload as object), REFERENCES);
                    return { status: 201, body: created, location: `/collections/${created.id}` };
                });
            }
        }
    },
    {
        method: 'GET',
        path: '/collections/{id}',
        options: {
            tags: ['api', 'collections'],
            description: 'Get a collection with its resource count',
            validate: { params: idParam() },
            plugins: documented({ responses: { 200: { description: 'The collection', schema: collectionWithCountSchema } }, errors: [404] }),
            async handler(request: Request) {

                const collection = await findOr404(request.models, paramsOf(request).id);
                const [{ count }] = await request.models.CollectionResource.query()
                    .where('collection_id', collection.id).count({ count: '*' }) as unknown as Array<{ count: number }>;
                return { ...collection.toJSON(), resource_count: Number(count) };
            }
        }
    },
    {
        method: 'PATCH',
        path: '/collections/{id}',
        options: {
            tags: ['api', 'collections'],
            description: 'Update a collection',
            validate: { params: idParam(), payload: collectionPatch },
            plugins: documented({ responses: { 200: { description: 'The updated collection', schema: collectionSchema } }, errors: [404, 409, 422] }),
            async handler(request: Request) {

                const { models, server } = request;
                const changes = request.payload as Record<string, unknown>;
                return await server.withRetry(() => withReferences(() => models.Collection.transaction(async (trx) => {

                    const current = await server.db.dialect.lockForUpdate(models.Collection.query(trx).findById(paramsOf(request).id));
                    if (!current) {
                        throw Boom.notFound(`Collection ${paramsOf(request).id} not found`);
                    }

                    if (changes.parent_id !== undefined) {
                        await assertNoCycle(models, current.id, changes.parent_id as string | null, trx);
                    }

                    return await current.$query(trx).patchAndFetch(changes);
                }), REFERENCES));
            }
        }
    },
    {
        method: 'DELETE',
        path: '/collections/{id}',
        options: {
            tags: ['api', 'collections'],
            description: 'Delete a collection and its sub-collections (resources stay)',
            validate: { params: idParam() },
            plugins: documented({ responses: { 204: { description: 'Deleted' } }, errors: [404] }),
            async handler(request: Request, h: ResponseToolkit) {

                const deleted = await request.models.Collection.query().deleteById(paramsOf(request).id);
                if (!deleted) {
                    throw Boom.notFound(`Collection ${paramsOf(request).id} not found`);
                }

                return h.response().code(204);
            }
        }
    },
    {
        method: 'GET',
        path: '/collections/{id}/resources',
        options: {
            tags: ['api', 'collections'],
            description: 'Resources of a collection, most recently added first',
            validate: { params: idParam(), query: Joi.object({ limit: limitWithInclude, offset, include: includeParam }) },
            plugins: documented({ responses: { 200: { description: 'A page of the collection\'s resources', schema: resourceListSchema } }, errors: [404] }),
            async handler(request: Request) {

                const { models } = request;
                const query = request.query as { limit: number; offset: number; include?: string[] };
                const collection = await findOr404(models, paramsOf(request).id);
                return await pageWithTotal(
                    collection.$relatedQuery('resources')
                        .select(listColumns(query.include).map((column) => `resources.${column}`))
                        .orderBy('collection_resources.added_at', 'desc').orderBy('resources.id')
                        .limit(query.limit).offset(query.offset),
                    models.CollectionResource.query().where('collection_id', collection.id));
            }
        }
    },
    {
        method: 'PUT',
        path: '/collections/{id}/resources/{resourceId}',
        options: {
            tags: ['api', 'collections'],
            description: 'Add a resource to a collection (idempotent)',
            validate: { params: Joi.object({ id: uuid.required(), resourceId: uuid.required() }) },
            plugins: documented({ responses: { 204: { description: 'The resource is in the collection' } }, errors: [404, 422] }),
            async handler(request: Request, h: ResponseToolkit) {

                const { models } = request;
                const { id, resourceId } = paramsOf(request);
                await findOr404(models, id);
                const resource = await models.Resource.query().select('id').findById(resourceId);
                if (!resource) {
                    throw Boom.notFound(`Resource ${resourceId} not found`);
                }

                await withReferences(() => models.CollectionResource.query()
                    .insert({ collection_id: id, resource_id: resourceId })
                    .onConflict(['collection_id', 'resource_id']).ignore(), 'the collection or the resource no longer exists');
                return h.response().code(204);
            }
        }
    },
    {
        method: 'DELETE',
        path: '/collections/{id}/resources/{resourceId}',
        options: {
            tags: ['api', 'collections'],
            description: 'Remove a resource from a collection',
            validate: { params: Joi.object({ id: uuid.required(), resourceId: uuid.required() }) },
            plugins: documented({ responses: { 204: { description: 'Removed' } }, errors: [404] }),
            async handler(request: Request, h: ResponseToolkit) {

                const { id, resourceId } = paramsOf(request);
                const deleted = await request.models.CollectionResource.query()
                    .where({ collection_id: id, resource_id: resourceId }).delete();
                if (!deleted) {
                    throw Boom.notFound(`Resource ${resourceId} is not in collection ${id}`);
                }

                return h.response().code(204);
            }
        }
    }
];
