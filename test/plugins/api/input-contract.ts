// One input contract on both dialects: every route, the same bad inputs, the
// same status and message whatever the database, and nothing written. Before
// it, SQLite stored what PostgreSQL refused (NUL, year 0, year 10000) and
// ignored filters and cursors that PostgreSQL answered with an error.

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { JSON_ONLY_MESSAGE } from '../../../plugins/api/json-bodies';
import { RECORD_TOO_LARGE } from '../../../server/input';
import { emptyAllTables } from '../../helpers/database';
import { createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after, beforeEach } = lab;

const cursorOf = (parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
const ID = '00000000-0000-4000-8000-000000000001';

export interface ContractCase {
    method: string;
    url: string;
    payload?: unknown;
    headers?: Record<string, string>;
    status: number;
    message: string;
}

/** The shared table: routes and the exact answer both dialects give. */
export function contractCases(ids: { resource: string; collection: string }): ContractCase[] {

    const nul = (label: string) => `"${label}" must not contain NUL characters`;
    const range = (label: string) => `"${label}" must be an ISO 8601 date between 0001-01-01 and 9999-12-31 (UTC)`;
    const foreignCursor = '"cursor" is not a cursor returned by this API';
    const r = `/resources/${ids.resource}`;
    const c = `/collections/${ids.collection}`;
    return [
        // NUL characters in every kind of text.
        { method: 'POST', url: '/resources', payload: { title: 'a\u0000b' }, status: 400, message: nul('title') },
        { method: 'POST', url: '/resources', payload: { title: 't', description: '\u0000' }, status: 400, message: nul('description') },
        { method: 'POST', url: '/resources', payload: { title: 't', subject: ['ok', 'x\u0000'] }, status: 400, message: nul('subject[1]') },
        { method: 'POST', url: '/resources', payload: { title: 't', sparse_embedding: { 'k\u0000': 1 } }, status: 400, message: '"sparse_embedding.k\u0000" is not allowed' },
        { method: 'PATCH', url: r, payload: { subject_add: ['\u0000'] }, status: 400, message: nul('subject_add[0]') },
        { method: 'POST', url: '/collections', payload: { name: 'n\u0000' }, status: 400, message: nul('name') },
        { method: 'PATCH', url: c, payload: { description: '\u0000' }, status: 400, message: nul('description') },
        { method: 'POST', url: `${r}/annotations`, payload: { start_offset: 0, end_offset: 1, highlighted_text: 'x', note: 'n\u0000' }, status: 400, message: nul('note') },
        { method: 'POST', url: `${r}/annotations`, payload: { start_offset: 0, end_offset: 1, highlighted_text: 'x', tags: ['\u0000'] }, status: 400, message: nul('tags[0]') },
        { method: 'GET', url: '/search?q=history&subject=%00', status: 400, message: nul('subject') },
        { method: 'GET', url: '/search?q=history&classification_code=%00', status: 400, message: nul('classification_code') },
        { method: 'GET', url: '/search?q=hist%00ory', status: 400, message: nul('q') },
        { method: 'GET', url: '/resources?classification_code=%00', status: 400, message: nul('classification_code') },
        { method: 'GET', url: '/resources?subject=a%00', status: 400, message: nul('subject') },
        { method: 'GET', url: `${r}/annotations?tag=%00`, status: 400, message: nul('tag') },
        { method: 'GET', url: '/classification-codes?parent_code=%00', status: 400, message: nul('parent_code') },
        { method: 'GET', url: '/classification-codes/%00', status: 400, message: nul('code') },
        // Unpaired surrogates: jsonb refuses them, the drivers would replace them.
        { method: 'POST', url: '/resources', payload: { title: 't', subject: ['\ud800'] }, status: 400, message: '"subject[0]" must be valid Unicode text (it contains an unpaired surrogate)' },
        // Dates both engines store.
        { method: 'POST', url: '/resources', payload: { title: 't', ingestion_started_at: '0000-06-01T00:00:00Z' }, status: 400, message: range('ingestion_started_at') },
        { method: 'POST', url: '/resources', payload: { title: 't', ingestion_started_at: '-000001-01-01T00:00:00Z' }, status: 400, message: range('ingestion_started_at') },
        { method: 'POST', url: '/resources', payload: { title: 't', ingestion_completed_at: '+010000-01-01T00:00:00Z' }, status: 400, message: range('ingestion_completed_at') },
        { method: 'PATCH', url: r, payload: { ingestion_started_at: '0001-01-01T00:00:00+01:00' }, status: 400, message: range('ingestion_started_at') },
        { method: 'GET', url: '/resources?created_after=%2B275760-09-13T00:00:00Z', status: 400, message: range('created_after') },
        { method: 'GET', url: '/resources?created_before=0000-01-01', status: 400, message: range('created_before') },
        { method: 'GET', url: '/resources?created_after=yesterday', status: 400, message: range('created_after') },
        // Cursors whose value the sort could not compare.
        { method: 'GET', url: `/resources?cursor=${cursorOf(['created_at', 'desc', 'not-a-date', ID])}`, status: 400, message: foreignCursor },
        { method: 'GET', url: `/resources?cursor=${cursorOf(['created_at', 'desc', '+275760-09-13T00:00:00Z', ID])}`, status: 400, message: foreignCursor },
        { method: 'GET', url: `/resources?sort=quality_score&cursor=${cursorOf(['quality_score', 'desc', 'high', ID])}`, status: 400, message: foreignCursor },
        { method: 'GET', url: `/resources?cursor=${cursorOf(['created_at', 'desc', '2026-01-01T00:00:00.000Z', 'not-an-id'])}`, status: 400, message: foreignCursor },
        // Numbers.
        { method: 'POST', url: '/resources', payload: { title: 't', quality_score: 1.5 }, status: 400, message: '"quality_score" must be less than or equal to 1' },
        { method: 'POST', url: `${r}/annotations`, payload: { start_offset: 0, end_offset: 3_000_000_000, highlighted_text: 'x' }, status: 400, message: '"end_offset" must be less than or equal to 100000000' },
        { method: 'GET', url: '/resources?limit=101', status: 400, message: '"limit" must be less than or equal to 100' },
        { method: 'GET', url: '/search?q=x&offset=-1', status: 400, message: '"offset" must be greater than or equal to 0' },
        // Sizes (README "Limits").
        { method: 'POST', url: '/resources', payload: { title: 't', description: 'x'.repeat(10_001) }, status: 400, message: '"description" length must be less than or equal to 10000 characters long' },
        { method: 'POST', url: '/resources', payload: { title: 't', subject: Array.from({ length: 51 }, (_, i) => `s${i}`) }, status: 400, message: '"subject" must contain less than or equal to 50 items' },
        { method: 'POST', url: '/resources', payload: { title: 't', description: '語'.repeat(10_000), relation: Array.from({ length: 20 }, () => 'r'.repeat(500)) }, status: 400, message: RECORD_TOO_LARGE },
        { method: 'PATCH', url: r, payload: { description: '語'.repeat(10_000), relation: Array.from({ length: 20 }, () => 'r'.repeat(500)) }, status: 400, message: RECORD_TOO_LARGE },
        { method: 'GET', url: '/resources?include=embedding&limit=21', status: 400, message: '"limit" must be at most 20 when "include" asks for embeddings' },
        { method: 'GET', url: '/search?q=x&include=sparse_embedding&limit=50', status: 400, message: '"limit" must be at most 20 when "include" asks for embeddings' },
        { method: 'GET', url: '/resources?include=search_vector', status: 400, message: '"include[0]" must be one of [embedding, sparse_embedding]' },
        // JSON bodies only (a cross-origin form needs no CORS preflight).
        { method: 'POST', url: '/resources', payload: 'title=Forged', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, message: JSON_ONLY_MESSAGE },
        { method: 'POST', url: '/resources', payload: '{"title":"No type"}', headers: {}, status: 415, message: JSON_ONLY_MESSAGE },
        { method: 'POST', url: '/collections', payload: '{"name":"x"}', headers: { 'content-type': 'text/plain' }, status: 415, message: JSON_ONLY_MESSAGE },
        { method: 'PATCH', url: r, payload: 'title=x', headers: { 'content-type': 'multipart/form-data; boundary=x' }, status: 415, message: JSON_ONLY_MESSAGE }
    ];
}

describe('api: one input contract on every dialect', () => {

    let t: TestServer;
    const ids = { resource: '', collection: '' };

    before(async () => {

        t = await createTestServer();
    });

    after(async () => {

        await t.stop();
    });

    beforeEach(async () => {

        await emptyAllTables(t.server.db);
        ids.resource = ((await t.server.inject({ method: 'POST', url: '/resources', payload: { title: 'Kept' } })).result as { id: string }).id;
        ids.collection = ((await t.server.inject({ method: 'POST', url: '/collections', payload: { name: 'Kept' } })).result as { id: string }).id;
    });

    it('answers every case of the shared table with its status and message, and writes nothing', async () => {

        for (const entry of contractCases(ids)) {
            // A string payload goes out with no Content-Type unless the case gives one.
            const res = await t.server.inject({ method: entry.method, url: entry.url, payload: entry.payload as object, headers: entry.headers ?? {} });
            const label = `${entry.method} ${entry.url} ${JSON.stringify(entry.payload)}`;
            expect(res.statusCode, label).to.equal(entry.status);
            expect(JSON.parse(res.payload).message, label).to.equal(entry.message);
        }

        const resources = JSON.parse((await t.server.inject('/resources')).payload);
        expect(resources.items.map((item: { title: string }) => item.title)).to.equal(['Kept']);
        const kept = JSON.parse((await t.server.inject(`/resources/${ids.resource}`)).payload);
        expect(kept.subject).to.equal([]);
        expect(kept.ingestion_started_at).to.be.null();
        expect(JSON.parse((await t.server.inject('/collections')).payload).total).to.equal(1);
        expect(JSON.parse((await t.server.inject(`/resources/${ids.resource}/annotations`)).payload).total).to.equal(0);
    });

    it('accepts the edges of the ranges on both dialects and reads them back unchanged', async () => {

        const res = await t.server.inject({ method: 'POST', url: '/resources', payload: { title: 'Edges', ingestion_started_at: '0001-01-01T00:00:00.000Z', ingestion_completed_at: '9999-12-31T23:59:59.999Z' } });
        expect(res.statusCode, res.payload).to.equal(201);
        const body = JSON.parse(res.payload);
        expect(body.ingestion_started_at).to.equal('0001-01-01T00:00:00.000Z');
        expect(body.ingestion_completed_at).to.equal('9999-12-31T23:59:59.999Z');
        expect((await t.server.inject('/resources?created_after=0001-01-01T00:00:00Z&created_before=9999-12-31T00:00:00Z')).statusCode).to.equal(200);
    });
});
