// /resources: list with filters, sort and keyset cursor; create; get;
// PATCH under a row lock inside a retried transaction; delete.

import Boom from '@hapi/boom';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import type { QueryBuilder } from 'objection';

import { isForeignKeyViolation } from '../../server/errors';
import { RECORD_TEXT_BYTES, RECORD_TOO_LARGE, recordTextBytes } from '../../server/input';
import { RESOURCE_COLUMNS, type Resource } from '../../server/models';
import { documented } from '../../server/openapi';
import { listColumns } from '../../server/resource-fields';
import { createIdempotently } from './idempotency';
import { decodeCursor, encodeCursor, pageWithTotal } from './pagination';
import { resourcePageSchema, resourceSchema } from './response-schemas';
import { idParam, paramsOf, resourceCreate, resourceListQuery, resourcePatch } from './schemas';

const REFERENCE_FIELDS = 'classification_code or owner_id refers to a record that does not exist';

/** Turns a foreign-key failure on a write into a 422 naming the reference fields. */
export async function withReferences<T>(work: () => PromiseLike<T>, message = REFERENCE_FIELDS): Promise<T> {

    try {
        return await work();
    }
    catch (error) {
        if (isForeignKeyViolation(error)) {
            throw Boom.badData(message);
        }

        throw error;
    }
}

function normalizeEmpty(payload: Record<string, unknown>): Record<string, unknown> {

    // An empty string for an optional text field means "no value".
    const result: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(payload)) {
        result[key] = value === '' ? null : value;
    }

    return result;
}

async function list(request: Request) {

    const { Resource } = request.models;
    const query = request.query as Record<string, any>;
    const dialect = request.server.db.dialect;
    const { sort, order } = query;

    const filtered = () => {

        const builder = Resource.query();
        if (query.subject?.length) {
            builder.where(dialect.jsonArrayContains(request.knex, 'resources.subject', query.subject));
        }

        if (query.classification_code) {
            builder.where('classification_code', query.classification_code);
        }

        if (query.read_status) {
            builder.where('read_status', query.read_status);
        }

        if (query.min_quality !== undefined) {
            builder.where('quality_score', '>=', query.min_quality);
        }

        if (query.created_after) {
            builder.where('created_at', '>=', new Date(query.created_after).toISOString());
        }

        if (query.created_before) {
            builder.where('created_at', '<', new Date(query.created_before).toISOString());
        }

        return builder;
    };

    const page = filtered().select(listColumns(query.include))
        .orderBy(sort, order).orderBy('id', order).limit(query.limit) as QueryBuilder<Resource>;

    if (query.cursor) {
        const cursor = decodeCursor(query.cursor, sort, order);
        // Timestamps compare as canonical ISO text on SQLite, as instants on PostgreSQL.
        const value = sort === 'quality_score' ? Number(cursor.value) : new Date(cursor.value).toISOString();
        page.whereRaw(`(??, ??) ${order === 'desc' ? '<' : '>'} (?, ?)`, [sort, 'id', value, cursor.id]);
    }
    else if (query.offset) {
        page.offset(query.offset);
    }

    const { total, items } = await pageWithTotal(page, filtered());

    const last = items[items.length - 1] as unknown as Record<string, unknown> | undefined;
    return {
        total,
        items,
        next_cursor: items.length === query.limit && last ? encodeCursor({ sort, order, value: last[sort] as string | number, id: last.id as string }) : null
    };
}

async function get(request: Request) {

    // The hottest route: a plain knex lookup plus the model's normalisation
    // (booleans, timestamps, JSON) costs well under half of Objection's
    // query-builder path, with the same JSON out.
    // Named (parsed and planned once per connection) when db-engine found
    // the connections direct; unnamed behind PgBouncer.
    const { Resource } = request.models;
    const lookup = request.knex('resources').select(RESOURCE_COLUMNS).where('id', paramsOf(request).id).first();
    const row = await request.server.db.prepared(lookup, 'resources_get_by_id');
    const resource = row ? Resource.fromDatabaseJson(row) : null;
    if (!resource) {
        throw Boom.notFound(`Resource ${paramsOf(request).id} not found`);
    }

    return resource;
}

async function create(request: Request, h: ResponseToolkit) {

    const { Resource } = request.models;
    const payload = normalizeEmpty(request.payload as Record<string, unknown>);
    return await createIdempotently(request, h, async (trx) => {

        const inserted = await withReferences(() => Resource.query(trx).insert(payload));
        const resource = await Resource.query(trx).select(RESOURCE_COLUMNS as unknown as string[]).findById(inserted.id);
        return { status: 201, body: resource, location: `/resources/${inserted.id}` };
    });
}

async function patch(request: Request) {

    const { Resource } = request.models;
    const { server } = request;
    const { subject_add: add, subject_remove: remove, ...fields } = normalizeEmpty(request.payload as Record<string, unknown>) as Record<string, any>;

    return await server.withRetry(() => withReferences(() => Resource.transaction(async (trx) => {

        // Read-modify-write under a row lock: a concurrent PATCH waits here
        // instead of overwriting this one's subjects.
        const current = await server.db.dialect.lockForUpdate(
            Resource.query(trx).select(RESOURCE_COLUMNS as unknown as string[]).findById(paramsOf(request).id));
        if (!current) {
            throw Boom.notFound(`Resource ${paramsOf(request).id} not found`);
        }

        const changes: Record<string, unknown> = { ...fields };
        if (add || remove) {
            const subjects = new Set<string>(current.subject ?? []);
            for (const subject of add ?? []) {
                subjects.add(subject);
            }

            for (const subject of remove ?? []) {
                subjects.delete(subject);
            }

            changes.subject = [...subjects];
        }

        if (recordTextBytes({ ...current.toJSON(), ...changes }) > RECORD_TEXT_BYTES) {
            throw Boom.badRequest(RECORD_TOO_LARGE);
        }

        return await current.$query(trx).patchAndFetch(changes);
    })));
}

async function remove(request: Request, h: ResponseToolkit) {

    const { Resource } = request.models;
    const deleted = await Resource.query().deleteById(paramsOf(request).id);
    if (!deleted) {
        throw Boom.notFound(`Resource ${paramsOf(request).id} not found`);
    }

    return h.response().code(204);
}

export const resourceRoutes: ServerRoute[] = [
    {
        method: 'GET',
        path: '/resources',
        options: {
            tags: ['api', 'resources'],
            description: 'List resources with filters, sort and pagination (offset or cursor)',
            validate: { query: resourceListQuery },
            plugins: documented({ responses: { 200: { description: 'A page of resources', schema: resourcePageSchema } } }),
            handler: list
        }
    },
    {
        method: 'POST',
        path: '/resources',
        options: {
            tags: ['api', 'resources'],
            description: 'Create a resource',
            validate: { payload: resourceCreate },
            plugins: documented({ responses: { 201: { description: 'The created resource (Location: its URL)', schema: resourceSchema } }, errors: [409, 422] }),
            handler: create
        }
    },
    {
        method: 'GET',
        path: '/resources/{id}',
        options: {
            tags: ['api', 'resources'],
            description: 'Get a resource',
            validate: { params: idParam() },
            plugins: documented({ responses: { 200: { description: 'The resource', schema: resourceSchema } }, errors: [404] }),
            handler: get
        }
    },
    {
        method: 'PATCH',
        path: '/resources/{id}',
        options: {
            tags: ['api', 'resources'],
            description: 'Update fields of a resource; subject_add/subject_remove edit its subjects under a row lock',
            validate: { params: idParam(), payload: resourcePatch },
            plugins: documented({ responses: { 200: { description: 'The updated resource', schema: resourceSchema } }, errors: [404, 409, 422] }),
            handler: patch
        }
    },
    {
        method: 'DELETE',
        path: '/resources/{id}',
        options: {
            tags: ['api', 'resources'],
            description: 'Delete a resource (its annotations, citations and memberships go with it)',
            validate: { params: idParam() },
            plugins: documented({ responses: { 204: { description: 'Deleted' } }, errors: [404] }),
            handler: remove
        }
    }
];
