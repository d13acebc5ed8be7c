// The input contract every API route enforces before the database: what
// PostgreSQL would refuse is refused on SQLite too, with the same 400 and
// the same message, so data accepted on one dialect can always move to the
// other. Route schemas build on these instead of on plain Joi.

import BaseJoi from 'joi';

// PostgreSQL text cannot hold NUL (22021) and jsonb cannot hold "\u0000"
// (22P05); an unpaired surrogate cannot be encoded as UTF-8 (jsonb refuses
// its escape, the drivers silently replace it). SQLite stores all of them.
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Joi whose strings refuse what PostgreSQL cannot store (NUL, unpaired surrogates). */
export const Joi: typeof BaseJoi = BaseJoi.extend((joi) => ({
    type: 'string',
    base: joi.string(),
    messages: {
        'string.nul': '{{#label}} must not contain NUL characters',
        'string.surrogate': '{{#label}} must be valid Unicode text (it contains an unpaired surrogate)'
    },
    validate(value: unknown, helpers) {

        if (typeof value === 'string') {
            if (value.includes('\u0000')) {
                return { value, errors: helpers.error('string.nul') };
            }

            if (UNPAIRED_SURROGATE.test(value)) {
                return { value, errors: helpers.error('string.surrogate') };
            }
        }

        return { value };
    }
}));

/** The instants both engines store and compare alike (PostgreSQL has no year 0; SQLite compares text). */
export const EARLIEST_TIMESTAMP = '0001-01-01T00:00:00.000Z';
export const LATEST_TIMESTAMP = '9999-12-31T23:59:59.999Z';

const TIMESTAMP_RANGE = '{{#label}} must be an ISO 8601 date between 0001-01-01 and 9999-12-31 (UTC)';

/** An ISO 8601 timestamp inside the range both engines store; the text is kept as sent. */
export const timestamp = Joi.date().iso().min(EARLIEST_TIMESTAMP).max(LATEST_TIMESTAMP).raw()
    .messages({ 'date.min': TIMESTAMP_RANGE, 'date.max': TIMESTAMP_RANGE, 'date.format': TIMESTAMP_RANGE, 'date.base': TIMESTAMP_RANGE });

/** True when `value` is a timestamp the contract accepts (for values inside cursors). */
export function isStorableTimestamp(value: unknown): boolean {

    return typeof value === 'string' && timestamp.validate(value).error === undefined;
}

/**
 * Stored field sizes, chosen for a library catalogue: enough for any real
 * title, an abstract, a subject heading; small enough that the largest page
 * of 100 resources stays a few megabytes (see README, "Limits").
 */
export const FIELD_LIMITS = {
    title: 1000,
    description: 10_000,
    name: 500,                  // creator, publisher, contributor, identifier
    source: 2000,
    coverage: 1000,             // coverage, rights
    subjects: 50,
    subject: 100,
    relations: 20,
    relation: 500,
    embedding: 4096,
    sparseEmbedding: 1024,
    sparseKey: 64,
    ingestionError: 1000,
    collectionName: 200,
    collectionDescription: 2000,
    annotationText: 10_000,     // highlighted_text, note
    tags: 50,
    tag: 100
} as const;

/**
 * All of a resource's text together (every field but the embeddings, as
 * UTF-8 JSON): a catalogue record, however its fields are filled, stays
 * under this, so a page of 100 stays about 3 MB.
 */
export const RECORD_TEXT_BYTES = 32_768;

/** Page size when a list also returns the embeddings (each up to ~100 KB as JSON). */
export const MAX_LIMIT_WITH_EMBEDDINGS = 20;

// The embeddings have their own limits; the server-set fields are the same for every record.
const NOT_TEXT = new Set(['embedding', 'sparse_embedding', 'id', 'created_at', 'updated_at']);

/** The UTF-8 size of a resource's text fields as JSON. */
export function recordTextBytes(record: Record<string, unknown>): number {

    const text: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(record)) {
        if (!NOT_TEXT.has(key)) {
            text[key] = value;
        }
    }

    return Buffer.byteLength(JSON.stringify(text));
}

export const RECORD_TOO_LARGE = `The resource's text fields together must stay under ${RECORD_TEXT_BYTES.toLocaleString('en')} bytes (UTF-8); shorten the description, subjects or relations`;
