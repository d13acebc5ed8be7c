// Joi schemas shared by the API routes (also the OpenAPI description).

import { INGESTION_STATUSES, READ_STATUSES, VISIBILITIES } from '../../server/models';
import { FIELD_LIMITS as L, Joi, MAX_LIMIT_WITH_EMBEDDINGS, RECORD_TEXT_BYTES, RECORD_TOO_LARGE, recordTextBytes, timestamp as storableTimestamp } from '../../server/input';
import { includeParam } from '../../server/resource-fields';

export const uuid = Joi.string().guid({ version: ['uuidv1', 'uuidv2', 'uuidv3', 'uuidv4', 'uuidv5', 'uuidv7'] }).lowercase();
export const idParam = (name = 'id') => Joi.object({ [name]: uuid.required() });

const shortText = (max: number) => Joi.string().trim().max(max).allow(null, '');
const subject = Joi.string().trim().min(1).max(L.subject);
const timestamp = storableTimestamp.allow(null);

export const limit = Joi.number().integer().min(1).max(100).default(25)
    .description('Page size, 1–100');

/** The page size of a list that can include the embeddings: at most MAX_LIMIT_WITH_EMBEDDINGS when it does. */
export const limitWithInclude = Joi.when('include', {
    is: Joi.array().min(1).required(),
    then: limit.max(MAX_LIMIT_WITH_EMBEDDINGS).messages({ 'number.max': `"limit" must be at most ${MAX_LIMIT_WITH_EMBEDDINGS} when "include" asks for embeddings` }),
    otherwise: limit
});
export const offset = Joi.number().integer().min(0).max(1_000_000).default(0);

export const subjectFilter = Joi.array().items(subject).single().max(20)
    .description('Repeatable: every subject listed must be present');

const resourceFields = {
    title: Joi.string().trim().min(1).max(L.title),
    description: Joi.string().max(L.description).allow(null, ''),
    creator: shortText(L.name),
    publisher: shortText(L.name),
    contributor: shortText(L.name),
    type: shortText(64),
    format: shortText(128),
    language: shortText(35),
    identifier: shortText(L.name),
    source: Joi.string().uri({ scheme: ['http', 'https', 'ftp', 'doi', 'urn'] }).max(L.source).allow(null, ''),
    coverage: Joi.string().max(L.coverage).allow(null, ''),
    rights: Joi.string().max(L.coverage).allow(null, ''),
    subject: Joi.array().items(subject).max(L.subjects).unique(),
    relation: Joi.array().items(Joi.string().max(L.relation)).max(L.relations),
    classification_code: Joi.string().trim().min(1).max(32).allow(null),
    quality_score: Joi.number().min(0).max(1),
    read_status: Joi.string().valid(...READ_STATUSES),
    embedding: Joi.array().items(Joi.number()).max(L.embedding).allow(null),
    sparse_embedding: Joi.object().pattern(Joi.string().max(L.sparseKey), Joi.number()).max(L.sparseEmbedding).allow(null),
    owner_id: uuid.allow(null),
    ingestion_status: Joi.string().valid(...INGESTION_STATUSES),
    ingestion_error: Joi.string().max(L.ingestionError).allow(null, ''),
    ingestion_started_at: timestamp,
    ingestion_completed_at: timestamp
};

export const resourceCreate = Joi.object({
    ...resourceFields,
    title: resourceFields.title.required()
}).custom((value: Record<string, unknown>, helpers) => (recordTextBytes(value) > RECORD_TEXT_BYTES ? helpers.message({ custom: RECORD_TOO_LARGE }) : value))
    .label('ResourceCreate');

export const resourcePatch = Joi.object({
    ...resourceFields,
    subject_add: Joi.array().items(subject).max(L.subjects).description('Subjects to add (applied under a row lock)'),
    subject_remove: Joi.array().items(subject).max(L.subjects).description('Subjects to remove (applied under a row lock)')
}).min(1).oxor('subject', 'subject_add').oxor('subject', 'subject_remove').label('ResourcePatch');

export const resourceListQuery = Joi.object({
    subject: subjectFilter,
    classification_code: Joi.string().trim().max(32),
    read_status: Joi.string().valid(...READ_STATUSES),
    min_quality: Joi.number().min(0).max(1),
    created_after: storableTimestamp,
    created_before: storableTimestamp,
    sort: Joi.string().valid('created_at', 'updated_at', 'quality_score').default('created_at'),
    order: Joi.string().valid('asc', 'desc').default('desc'),
    limit: limitWithInclude,
    offset: Joi.number().integer().min(0).max(1_000_000),
    cursor: Joi.string().max(500).description('Opaque cursor from next_cursor; replaces offset'),
    include: includeParam
}).oxor('cursor', 'offset').messages({ 'object.oxor': 'use either "cursor" or "offset", not both' }).label('ResourceListQuery');

export const collectionCreate = Joi.object({
    name: Joi.string().trim().min(1).max(L.collectionName).required(),
    description: Joi.string().max(L.collectionDescription).allow(null, ''),
    owner_id: uuid.allow(null),
    visibility: Joi.string().valid(...VISIBILITIES),
    parent_id: uuid.allow(null)
}).label('CollectionCreate');

export const collectionPatch = Joi.object({
    name: Joi.string().trim().min(1).max(L.collectionName),
    description: Joi.string().max(L.collectionDescription).allow(null, ''),
    owner_id: uuid.allow(null),
    visibility: Joi.string().valid(...VISIBILITIES),
    parent_id: uuid.allow(null)
}).min(1).label('CollectionPatch');

const color = Joi.string().pattern(/^#[0-9a-fA-F]{6}$/).message('"color" must be a hex colour like #ffcc00');

export const annotationCreate = Joi.object({
    start_offset: Joi.number().integer().min(0).max(100_000_000).required(),
    end_offset: Joi.number().integer().min(Joi.ref('start_offset')).max(100_000_000).required(),
    highlighted_text: Joi.string().max(L.annotationText).required(),
    note: Joi.string().max(L.annotationText).allow(null, ''),
    tags: Joi.array().items(Joi.string().trim().min(1).max(L.tag)).max(L.tags).unique(),
    color,
    is_shared: Joi.boolean(),
    user_id: uuid.allow(null)
}).label('AnnotationCreate');

export const annotationPatch = Joi.object({
    start_offset: Joi.number().integer().min(0).max(100_000_000),
    end_offset: Joi.number().integer().min(0).max(100_000_000),
    highlighted_text: Joi.string().max(L.annotationText),
    note: Joi.string().max(L.annotationText).allow(null, ''),
    tags: Joi.array().items(Joi.string().trim().min(1).max(L.tag)).max(L.tags).unique(),
    color,
    is_shared: Joi.boolean()
}).min(1).label('AnnotationPatch');

/** Path parameters after Joi validation: always strings here. */
export const paramsOf = (request: { params: unknown }) => request.params as Record<string, string>;
