// Idempotency-Key on the routes that create, on both dialects.

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { IDEMPOTENCY_KEY_TTL_MS } from '../../../plugins/api/idempotency';
import { emptyAllTables } from '../../helpers/database';
import { createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after, beforeEach } = lab;

describe('api: Idempotency-Key', () => {

    let t: TestServer;

    before(async () => {

        t = await createTestServer();
    });

    after(async () => {

        await t.stop();
    });

    beforeEach(async () => {

        await emptyAllTables(t.server.db);
    });

    const post = (url: string, payload: object, key?: string) => t.server.inject({ method: 'POST', url, payload, headers: key ? { 'idempotency-key': key } : {} });
    const count = async (table: string) => Number((await t.server.knex(table).count({ n: '*' }))[0]!.n);

    it('answers a repeated POST with the first answer instead of creating a duplicate', async () => {

        const first = await post('/resources', { title: 'Once' }, 'key-resource-1');
        expect(first.statusCode).to.equal(201);
        const again = await post('/resources', { title: 'Once' }, 'key-resource-1');
        expect(again.statusCode).to.equal(201);
        expect(again.headers['idempotent-replayed']).to.equal('true');
        expect(again.headers.location).to.equal(first.headers.location);
        expect(JSON.parse(again.payload)).to.equal(JSON.parse(first.payload));
        expect(await count('resources')).to.equal(1);

        // Without a key, a repeat is a new resource, as before.
        await post('/resources', { title: 'Once' });
        expect(await count('resources')).to.equal(2);
    });

    it('does the same for collections and annotations', async () => {

        const collection = await post('/collections', { name: 'Shelf' }, 'key-collection');
        expect((await post('/collections', { name: 'Shelf' }, 'key-collection')).headers.location).to.equal(collection.headers.location);
        const resource = JSON.parse((await post('/resources', { title: 'Annotated' })).payload);
        const note = { start_offset: 0, end_offset: 4, highlighted_text: 'Anno' };
        const annotation = await post(`/resources/${resource.id}/annotations`, note, 'key-annotation');
        expect(annotation.statusCode).to.equal(201);
        expect((await post(`/resources/${resource.id}/annotations`, note, 'key-annotation')).headers.location).to.equal(annotation.headers.location);
        expect(await count('collections')).to.equal(1);
        expect(await count('annotations')).to.equal(1);
    });

    it('refuses a key reused for another request with 422 and a clear message', async () => {

        expect((await post('/resources', { title: 'First' }, 'key-reused')).statusCode).to.equal(201);
        for (const [url, payload] of [['/resources', { title: 'Second' }], ['/collections', { name: 'First' }]] as const) {
            const res = await post(url, payload, 'key-reused');
            expect(res.statusCode).to.equal(422);
            expect(JSON.parse(res.payload).message).to.equal('This Idempotency-Key was already used for a different request (another path or body): use a new key for a new request');
        }

        expect(await count('resources')).to.equal(1);
    });

    it('stores nothing for a request that failed, so the same key can be retried', async () => {

        const missing = await post('/resources', { title: 'Bad reference', classification_code: 'none' }, 'key-failed');
        expect(missing.statusCode).to.equal(422);
        expect(await count('idempotency_keys')).to.equal(0);
        await t.server.knex('classification_codes').insert({ code: 'none', label: 'Now there' });
        expect((await post('/resources', { title: 'Bad reference', classification_code: 'none' }, 'key-failed')).statusCode).to.equal(201);
    });

    it('creates one resource when the same key arrives concurrently', async () => {

        const answers = await Promise.all(Array.from({ length: 8 }, () => post('/resources', { title: 'Raced' }, 'key-raced')));
        expect(answers.map((res) => res.statusCode)).to.equal(Array(8).fill(201));
        expect(new Set(answers.map((res) => res.headers.location)).size).to.equal(1);
        expect(await count('resources')).to.equal(1);
    });

    it('forgets a key once it has expired', async () => {

        expect((await post('/resources', { title: 'Old' }, 'key-expiring')).statusCode).to.equal(201);
        const created = await t.server.knex('idempotency_keys').select('created_at', 'expires_at').first();
        expect(new Date(created.expires_at).getTime() - new Date(created.created_at).getTime()).to.equal(IDEMPOTENCY_KEY_TTL_MS);
        await t.server.knex('idempotency_keys').update({ expires_at: new Date(Date.now() - 1000).toISOString() });
        const again = await post('/resources', { title: 'New' }, 'key-expiring');
        expect(again.statusCode).to.equal(201);
        expect(again.headers['idempotent-replayed']).to.not.exist();
        expect(await count('resources')).to.equal(2);
        expect(await count('idempotency_keys')).to.equal(1);
    });

    it('refuses a malformed key with 400', async () => {

        for (const key of ['x'.repeat(201), 'has space', 'é']) {
            const res = await t.server.inject({ method: 'POST', url: '/resources', payload: { title: 'k' }, headers: { 'idempotency-key': key } });
            expect(res.statusCode, key).to.equal(400);
            expect(JSON.parse(res.payload).message).to.contain('"Idempotency-Key" must be 1 to 200 visible ASCII characters');
        }
    });
});
