// Generated bad input for every API route: the same seeded sequence of
// requests for each dialect, so their answers can be compared one by one.

import type { Server } from '@hapi/hapi';

import { seededRandom } from './search-corpus';

/** Rows with fixed ids, so both dialects see the same URLs. */
export const FIXED = {
    resource: '00000000-0000-4000-8000-00000000f001',
    other: '00000000-0000-4000-8000-00000000f002',
    collection: '00000000-0000-4000-8000-00000000f101',
    annotation: '00000000-0000-4000-8000-00000000f201',
    taxonomy: '00000000-0000-4000-8000-00000000f301',
    user: '00000000-0000-4000-8000-00000000f401',
    missing: '00000000-0000-4000-8000-00000000dead'
};

/** Loads the fixed rows the generated requests refer to. */
export async function loadFixedRows(server: Server): Promise<void> {

    const { knex } = server;
    await knex('users').insert({ id: FIXED.user, email: 'fuzz@example.org' });
    await knex('classification_codes').insert([{ code: '900', label: 'History' }, { code: '910', label: 'Geography', parent_code: '900' }]);
    const { Resource, Collection, Annotation } = server.models;
    await Resource.query().insert({ id: FIXED.resource, title: 'Roman trade routes', description: 'Ships carried grain to Rome.', subject: ['history', 'trade'], classification_code: '900' });
    await Resource.query().insert({ id: FIXED.other, title: 'Carthage and Rome', subject: ['history'] });
    await Collection.query().insert({ id: FIXED.collection, name: 'Antiquity' });
    await Annotation.query().insert({ id: FIXED.annotation, resource_id: FIXED.resource, start_offset: 0, end_offset: 5, highlighted_text: 'Roman', tags: ['x'] });
    await knex('taxonomy_nodes').insert({ id: FIXED.taxonomy, name: 'History', slug: 'history', level: 0, path: 'history' });
}

export interface GeneratedRequest {
    method: string;
    url: string;
    payload?: string;
    headers: Record<string, string>;
}

const STRINGS = [
    '', ' ', 'x', 'Rome', 'history', '\u0000', 'a\u0000b', '\ud800', '\udfff x', '😀', 'e\u0301', '<script>alert(1)</script>', "' OR 1=1 --",
    '"', '\\', '%', '%00', '%zz', '1e309', '-1', '0', '1', '1.5', 'NaN', 'Infinity', 'null', 'true', 'false', '[]', '{}',
    '2024-01-01', '2024-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z', '+275760-09-13T00:00:00Z',
    '9999-12-31T23:59:59.999Z', '0001-01-01T00:00:00+01:00', '2024-02-30', '24:00', 'unread', 'read', 'archived', 'pending', 'public',
    'created_at', 'quality_score', 'title', 'asc', 'desc', 'embedding', 'embedding,sparse_embedding', '900', '910', 'history',
    '#ffcc00', '#zzzzzz', 'https://example.org/x', 'javascript:alert(1)', 'ftp://x', FIXED.resource, FIXED.missing, FIXED.user,
    FIXED.collection, 'not-a-uuid', '00000000-0000-0000-0000-000000000000', 'x'.repeat(33), 'x'.repeat(201), 'x'.repeat(1001),
    'ships NOT', '(ships', 'ships)', 'a OR b', 'the', '"woman having"', 'hist*', '-ships', 'ships AND (trade OR grain)'
];

const NON_STRINGS: unknown[] = [
    null, true, false, 0, -1, 1, 0.5, 1.5, 1e308, -1e308, 5e-324, 2 ** 31, 2 ** 53, -(2 ** 31) - 1, [], {}, ['a'], ['a', 'a'], [1, 2],
    { a: 1 }, { 'k\u0000': 1 }, [null], [['nested']], Array.from({ length: 60 }, (_, i) => `s${i}`), { nested: { deeper: [1] } }
];

/** A cursor, well-formed or not. */
function cursor(random: () => number): string {

    const values = ['2024-01-01T00:00:00.000Z', 'not-a-date', 0.5, 'x', null, '+275760-09-13T00:00:00Z'];
    const parts = [random() < 0.7 ? 'created_at' : 'quality_score', random() < 0.7 ? 'desc' : 'asc', pick(random, values), random() < 0.8 ? FIXED.resource : 'nope'];
    return Buffer.from(JSON.stringify(random() < 0.9 ? parts : parts.slice(1))).toString('base64url');
}

function pick<T>(random: () => number, items: readonly T[]): T {

    return items[Math.floor(random() * items.length)]!;
}

function value(random: () => number): unknown {

    if (random() < 0.6) {
        const text = pick(random, STRINGS);
        return random() < 0.1 ? text.repeat(3000) : text;
    }

    return pick(random, NON_STRINGS);
}

interface RouteShape {
    method: string;
    path: () => string;
    query?: readonly string[];
    payload?: readonly string[];
}

const RESOURCE_FIELDS = [
    'title', 'description', 'creator', 'publisher', 'contributor', 'type', 'format', 'language', 'identifier', 'source', 'coverage', 'rights',
    'subject', 'relation', 'classification_code', 'quality_score', 'read_status', 'embedding', 'sparse_embedding', 'owner_id',
    'ingestion_status', 'ingestion_error', 'ingestion_started_at', 'ingestion_completed_at', 'id', 'created_at', 'search_vector'
];
const ANNOTATION_FIELDS = ['start_offset', 'end_offset', 'highlighted_text', 'note', 'tags', 'color', 'is_shared', 'user_id', 'resource_id'];
const COLLECTION_FIELDS = ['name', 'description', 'owner_id', 'visibility', 'parent_id', 'id'];

function routes(random: () => number): RouteShape[] {

    const id = () => encodeURIComponent(String(pick(random, [FIXED.resource, FIXED.resource, FIXED.other, FIXED.missing, 'not-a-uuid', '\u0000', 'x'.repeat(40)])));
    const collection = () => encodeURIComponent(String(pick(random, [FIXED.collection, FIXED.collection, FIXED.missing, 'nope'])));
    const annotation = () => encodeURIComponent(String(pick(random, [FIXED.annotation, FIXED.annotation, FIXED.missing, '1'])));
    return [
        { method: 'GET', path: () => '/health' },
        { method: 'GET', path: () => '/resources', query: ['subject', 'classification_code', 'read_status', 'min_quality', 'created_after', 'created_before', 'sort', 'order', 'limit', 'offset', 'cursor', 'include', 'unknown'] },
        { method: 'POST', path: () => '/resources', payload: RESOURCE_FIELDS },
        { method: 'GET', path: () => `/resources/${id()}` },
        { method: 'PATCH', path: () => `/resources/${id()}`, payload: [...RESOURCE_FIELDS, 'subject_add', 'subject_remove'] },
        { method: 'DELETE', path: () => `/resources/${random() < 0.05 ? FIXED.other : FIXED.missing}` },
        { method: 'GET', path: () => '/collections', query: ['owner_id', 'parent_id', 'visibility', 'limit', 'offset'] },
        { method: 'POST', path: () => '/collections', payload: COLLECTION_FIELDS },
        { method: 'GET', path: () => `/collections/${collection()}` },
        { method: 'PATCH', path: () => `/collections/${collection()}`, payload: COLLECTION_FIELDS },
        { method: 'DELETE', path: () => `/collections/${FIXED.missing}` },
        { method: 'GET', path: () => `/collections/${collection()}/resources`, query: ['limit', 'offset', 'include'] },
        { method: 'PUT', path: () => `/collections/${collection()}/resources/${id()}` },
        { method: 'DELETE', path: () => `/collections/${collection()}/resources/${id()}` },
        { method: 'GET', path: () => `/resources/${id()}/annotations`, query: ['limit', 'offset', 'tag'] },
        { method: 'POST', path: () => `/resources/${id()}/annotations`, payload: ANNOTATION_FIELDS },
        { method: 'GET', path: () => `/resources/${id()}/annotations/${annotation()}` },
        { method: 'PATCH', path: () => `/resources/${id()}/annotations/${annotation()}`, payload: ANNOTATION_FIELDS },
        { method: 'DELETE', path: () => `/resources/${FIXED.resource}/annotations/${FIXED.missing}` },
        { method: 'GET', path: () => '/classification-codes', query: ['parent_code'] },
        { method: 'GET', path: () => `/classification-codes/${encodeURIComponent(String(pick(random, ['900', '910', 'nope', '\u0000', 'x'.repeat(40), '%'])))}` },
        { method: 'GET', path: () => '/taxonomy' },
        { method: 'GET', path: () => `/taxonomy/${encodeURIComponent(pick(random, [FIXED.taxonomy, FIXED.missing, 'nope']))}` },
        { method: 'GET', path: () => '/search', query: ['q', 'q', 'q', 'subject', 'classification_code', 'read_status', 'min_quality', 'limit', 'offset', 'include'] }
    ];
}

function queryString(random: () => number, keys: readonly string[]): string {

    const parts: string[] = [];
    const count = Math.floor(random() * 4);
    for (let i = 0; i < count; ++i) {
        const key = pick(random, keys);
        const raw = key === 'cursor' && random() < 0.7 ? cursor(random) : value(random);
        const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
        parts.push(`${key}=${random() < 0.03 ? '%ff%fe' : encodeURIComponent(text.slice(0, 4000).replace(/[\ud800-\udfff]/g, '\ufffd'))}`);
    }

    return parts.length ? `?${parts.join('&')}` : '';
}

function body(random: () => number, keys: readonly string[]): { payload: string; headers: Record<string, string> } {

    const kind = random();
    if (kind < 0.05) {
        return { payload: 'title=Forged&name=Forged', headers: { 'content-type': 'application/x-www-form-urlencoded' } };
    }

    if (kind < 0.08) {
        return { payload: '{"title": "no type"}', headers: {} };
    }

    if (kind < 0.12) {
        return { payload: pick(random, ['{"title":', '[]', '"x"', 'null', '1', '{"a":1}{', '\u0000']), headers: { 'content-type': 'application/json' } };
    }

    const payload: Record<string, unknown> = {};
    const count = 1 + Math.floor(random() * 4);
    for (let i = 0; i < count; ++i) {
        payload[pick(random, keys)] = value(random);
    }

    // Often a valid core so the odd field reaches deeper checks.
    if (random() < 0.5) {
        payload.title ??= 'Fuzzed';
        payload.name ??= 'Fuzzed';
        payload.start_offset ??= 0;
        payload.end_offset ??= 1;
        payload.highlighted_text ??= 'x';
        for (const key of Object.keys(payload)) {
            if (!keys.includes(key)) {
                delete payload[key];
            }
        }
    }

    return { payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } };
}

/** `count` requests over every route, the same for the same seed. */
export function badRequests(count: number, seed = 1904): GeneratedRequest[] {

    const random = seededRandom(seed);
    const shapes = routes(random);
    const requests: GeneratedRequest[] = [];
    for (let i = 0; i < count; ++i) {
        const shape = shapes[i % shapes.length]!;
        const url = `${shape.path()}${shape.query ? queryString(random, shape.query) : ''}`;
        if (shape.payload) {
            const { payload, headers } = body(random, shape.payload);
            requests.push({ method: shape.method, url, payload, headers });
        }
        else {
            requests.push({ method: shape.method, url, headers: {} });
        }
    }

    return requests;
}
