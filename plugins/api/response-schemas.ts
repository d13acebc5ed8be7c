// Joi schemas of the API's response bodies: the OpenAPI document's named
// components, checked against real responses by test/contract.

import Joi from 'joi';

import { INGESTION_STATUSES, READ_STATUSES, VISIBILITIES } from '../../server/models';
import { responseObject, timestamp, uuidString } from '../../server/openapi/schema';

const text = Joi.string().allow(null);
const strings = Joi.array().items(Joi.string());

export const resourceSchema = responseObject('Resource', {
    id: uuidString,
    title: Joi.string(),
    description: text,
    creator: text,
    publisher: text,
    contributor: text,
    type: text,
    format: text,
    language: text,
    identifier: text,
    source: text,
    coverage: text,
    rights: text,
    subject: strings,
    relation: strings,
    classification_code: text,
    quality_score: Joi.number().min(0).max(1),
    read_status: Joi.string().valid(...READ_STATUSES),
    embedding: Joi.array().items(Joi.number()).allow(null).optional().description('In lists and search results only with include=embedding'),
    sparse_embedding: Joi.object().pattern(Joi.string(), Joi.number()).allow(null).optional().description('term → weight; in lists and search results only with include=sparse_embedding'),
    owner_id: uuidString.allow(null),
    ingestion_status: Joi.string().valid(...INGESTION_STATUSES),
    ingestion_error: text,
    ingestion_started_at: timestamp.allow(null),
    ingestion_completed_at: timestamp.allow(null),
    created_at: timestamp,
    updated_at: timestamp
});

const total = Joi.number().integer().min(0).description('Exact number of matching records');

export const resourcePageSchema = responseObject('ResourcePage', {
    total,
    items: Joi.array().items(resourceSchema),
    next_cursor: Joi.string().allow(null).description('Pass as cursor for the next page; null on the last page')
});

export const resourceListSchema = responseObject('ResourceList', {
    total,
    items: Joi.array().items(resourceSchema)
});

const collectionFields = {
    id: uuidString,
    name: Joi.string(),
    description: text,
    owner_id: uuidString.allow(null),
    visibility: Joi.string().valid(...VISIBILITIES),
    parent_id: uuidString.allow(null),
    created_at: timestamp,
    updated_at: timestamp
};

export const collectionSchema = responseObject('Collection', collectionFields);

export const collectionWithCountSchema = responseObject('CollectionWithCount', {
    ...collectionFields,
    resource_count: Joi.number().integer().min(0)
});

export const collectionListSchema = responseObject('CollectionList', {
    total,
    items: Joi.array().items(collectionSchema)
});

export const annotationSchema = responseObject('Annotation', {
    id: uuidString,
    resource_id: uuidString,
    user_id: uuidString.allow(null),
    start_offset: Joi.number().integer().min(0),
    end_offset: Joi.number().integer().min(0),
    highlighted_text: Joi.string(),
    note: text,
    tags: strings,
    color: Joi.string(),
    is_shared: Joi.boolean(),
    created_at: timestamp,
    updated_at: timestamp
});

export const annotationListSchema = responseObject('AnnotationList', {
    total,
    items: Joi.array().items(annotationSchema)
});

const classificationFields = {
    code: Joi.string(),
    label: Joi.string(),
    parent_code: text,
    created_at: timestamp,
    updated_at: timestamp
};

export const classificationCodeSchema = responseObject('ClassificationCode', classificationFields);

export const classificationCodeListSchema = responseObject('ClassificationCodeList', {
    total,
    items: Joi.array().items(classificationCodeSchema)
});

export const classificationCodeWithChildrenSchema = responseObject('ClassificationCodeWithChildren', {
    ...classificationFields,
    children: Joi.array().items(classificationCodeSchema)
});

const treeFields = {
    id: uuidString,
    name: Joi.string(),
    slug: Joi.string(),
    level: Joi.number().integer().min(0),
    path: Joi.string().description('Materialised path of slugs, "/a/b/c"'),
    description: text
};

// JSON schema has no recursion hapi-swagger can express: a child is described as an object.
const treeChild = Joi.object().unknown(true).label('TaxonomyTreeChild')
    .description('A TaxonomyTreeNode (the same fields, children nested again)');

export const taxonomyTreeNodeSchema = responseObject('TaxonomyTreeNode', {
    ...treeFields,
    children: Joi.array().items(treeChild)
});

export const taxonomyTreeSchema = responseObject('TaxonomyTree', {
    total: Joi.number().integer().min(0).description('Number of nodes in the whole taxonomy'),
    tree: Joi.array().items(taxonomyTreeNodeSchema).description('Root nodes, each with its subtree')
});

export const taxonomyNodeSchema = responseObject('TaxonomyNode', {
    ...treeFields,
    parent_id: uuidString.allow(null),
    created_at: timestamp,
    updated_at: timestamp,
    children: Joi.array().items(taxonomyTreeNodeSchema).description('The node\'s subtree')
});

export const searchHitSchema = responseObject('SearchHit', {
    resource: resourceSchema,
    rank: Joi.number().description('bm25 relevance, higher is better'),
    snippet: Joi.string().description('HTML-escaped fragment with <mark> around matched terms')
});

export const searchResultSchema = responseObject('SearchResult', {
    total: Joi.number().integer().min(0).description('Number of matches: exact when total_relation is "eq", a lower bound when "gte"'),
    total_relation: Joi.string().valid('eq', 'gte')
        .description('"eq": total is exact; "gte": at least total match (past 10,000 without exact_total=true)'),
    items: Joi.array().items(searchHitSchema),
    suggestion: Joi.string().optional().description('A "did you mean" query, when nothing matched and a close query does')
});

export const healthSchema = responseObject('Health', {
    status: Joi.string().valid('ok', 'degraded'),
    uptime_s: Joi.number().integer().min(0),
    database: responseObject('HealthDatabase', {
        type: Joi.string().valid('sqlite', 'postgres'),
        reachable: Joi.boolean(),
        latency_ms: Joi.number().min(0).optional().description('Round trip of SELECT 1, when reachable'),
        role: Joi.string().valid('primary', 'standby').optional().description('standby: a read-only hot standby, where every write fails (when reachable)')
    }),
    replicas: Joi.array().items(responseObject('HealthReplica', {
        role: Joi.string().valid('standby', 'primary', 'unknown').description('What the replica said it is at the last sample'),
        in_rotation: Joi.boolean().description('Serves reads now'),
        state: Joi.string().valid('starting', 'in-rotation', 'lagging', 'unreachable', 'not-a-standby'),
        lag_seconds: Joi.number().min(0).allow(null).description('How stale its data may be (null: not known)')
    })).optional().description('The read replicas (DATABASE_REPLICA_URLS), when any are configured')
});
