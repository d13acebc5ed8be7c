// /resources/{id}/annotations: CRUD of the annotations of one resource.

import Boom from '@hapi/boom';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';

import { Joi } from '../../server/input';
import type { Models } from '../../server/models';
import { documented } from '../../server/openapi';
import { createIdempotently } from './idempotency';
import { pageWithTotal } from './pagination';
import { withReferences } from './resources';
import { annotationListSchema, annotationSchema } from './response-schemas';
import { annotationCreate, annotationPatch, idParam, limit, offset, paramsOf, uuid } from './schemas';

const both = Joi.object({ id: uuid.required(), annotationId: uuid.required() });

async function resourceOr404(models: Models, id: string) {

    const resource = await models.Resource.query().select('id').findById(id);
    if (!resource) {
        throw Boom.notFound(`Resource ${id} not found`);
    }
}

async function annotationOr404(request: Request) {

    const annotation = await request.models.Annotation.query()
        .findOne({ id: paramsOf(request).annotationId, resource_id: paramsOf(request).id });
    if (!annotation) {
        throw Boom.notFound(`Annotation ${paramsOf(request).annotationId} not found on resource ${paramsOf(request).id}`);
    }

    return annotation;
}

export const annotationRoutes: ServerRoute[] = [
    {
        method: 'GET',
        path: '/resources/{id}/annotations',
        options: {
            tags: ['api', 'annotations'],
            description: 'Annotations of a resource in reading order',
            validate: { params: idParam(), query: Joi.object({ limit, offset, tag: Joi.string().max(100) }) },
            plugins: documented({ responses: { 200: { description: 'A page of annotations, by start offset', schema: annotationListSchema } }, errors: [404] }),
            async handler(request: Request) {

                const { models } = request;
                const query = request.query as { limit: number; offset: number; tag?: string };
                await resourceOr404(models, paramsOf(request).id);
                const filtered = () => {

                    const builder = models.Annotation.query().where('resource_id', paramsOf(request).id);
                    if (query.tag) {
                        builder.where(request.server.db.dialect.jsonArrayContains(request.knex, 'annotations.tags', [query.tag]));
                    }

                    return builder;
                };

                return await pageWithTotal(filtered().orderBy('start_offset').orderBy('id').limit(query.limit).offset(query.offset), filtered());
            }
        }
    },
    {
        method: 'POST',
        path: '/resources/{id}/annotations',
        options: {
            tags: ['api', 'annotations'],
            description: 'Annotate a resource',
            validate: { params: idParam(), payload: annotationCreate },
            plugins: documented({ responses: { 201: { description: 'The created annotation (Location: its URL)', schema: annotationSchema } }, errors: [404, 422] }),
            async handler(request: Request, h: ResponseToolkit) {

                const { models } = request;
                await resourceOr404(models, paramsOf(request).id);
                return await createIdempotently(request, h, async (trx) => {

                    const created = await withReferences(() => models.Annotation.query(trx)
                        .insertAndFetch({ ...(request.payload as object), resource_id: paramsOf(request).id }), 'user_id refers to a user that does not exist');
                    return { status: 201, body: created, location: `/resources/${paramsOf(request).id}/annotations/${created.id}` };
                });
            }
        }
    },
    {
        method: 'GET',
        path: '/resources/{id}/annotations/{annotationId}',
        options: {
            tags: ['api', 'annotations'],
            description: 'Get one annotation',
            validate: { params: both },
            plugins: documented({ responses: { 200: { description: 'The annotation', schema: annotationSchema } }, errors: [404] }),
            handler: annotationOr404
        }
    },
    {
        method: 'PATCH',
        path: '/resources/{id}/annotations/{annotationId}',
        options: {
            tags: ['api', 'annotations'],
            description: 'Update an annotation',
            validate: { params: both, payload: annotationPatch },
            plugins: documented({ responses: { 200: { description: 'The updated annotation', schema: annotationSchema } }, errors: [404] }),
            async handler(request: Request) {

                const annotation = await annotationOr404(request);
                const changes = request.payload as Record<string, number | undefined>;
                const start = changes.start_offset ?? annotation.start_offset;
                const end = changes.end_offset ?? annotation.end_offset;
                if (end < start) {
                    throw Boom.badRequest('"end_offset" must be greater than or equal to "start_offset"');
                }

                return await annotation.$query().patchAndFetch(changes);
            }
        }
    },
    {
        method: 'DELETE',
        path: '/resources/{id}/annotations/{annotationId}',
        options: {
            tags: ['api', 'annotations'],
            description: 'Delete an annotation',
            validate: { params: both },
            plugins: documented({ responses: { 204: { description: 'Deleted' } }, errors: [404] }),
            async handler(request: Request, h: ResponseToolkit) {

                const annotation = await annotationOr404(request);
                await annotation.$query().delete();
                return h.response().code(204);
            }
        }
    }
];
