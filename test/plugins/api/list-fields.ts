// Lists and search leave the embeddings out unless `include` asks for them:
// a page of 100 rows with 4,096-number embeddings was megabytes.

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

describe('api: large fields in lists and search', () => {

    let t: TestServer;
    let id: string;
    let collection: string;

    before(async () => {

        t = await createTestServer();
        const res = await t.server.inject({ method: 'POST', url: '/resources', payload: { title: 'Embedded ledger', embedding: [0.25, -1], sparse_embedding: { ledger: 2 } } });
        id = JSON.parse(res.payload).id;
        collection = JSON.parse((await t.server.inject({ method: 'POST', url: '/collections', payload: { name: 'Shelf' } })).payload).id;
        await t.server.inject({ method: 'PUT', url: `/collections/${collection}/resources/${id}` });
    });

    after(async () => {

        await t.stop();
    });

    const firstOf = async (url: string) => {

        const res = await t.server.inject(url);
        expect(res.statusCode, res.payload).to.equal(200);
        const item = JSON.parse(res.payload).items[0];
        return item.resource ?? item;
    };

    it('leaves embeddings out of /resources, collection lists and /search by default', async () => {

        for (const url of ['/resources', `/collections/${collection}/resources`, '/search?q=ledger']) {
            const item = await firstOf(url);
            expect(item.id, url).to.equal(id);
            expect(item.title).to.equal('Embedded ledger');
            expect(item).to.not.include(['embedding', 'sparse_embedding']);
        }

        // One resource is one resource: it keeps every field.
        const one = JSON.parse((await t.server.inject(`/resources/${id}`)).payload);
        expect(one.embedding).to.equal([0.25, -1]);
    });

    it('returns them when include asks, comma-separated or repeated', async () => {

        for (const url of ['/resources?include=embedding,sparse_embedding', `/collections/${collection}/resources?include=embedding&include=sparse_embedding`, '/search?q=ledger&include=embedding,sparse_embedding']) {
            const item = await firstOf(url);
            expect(item.embedding, url).to.equal([0.25, -1]);
            expect(item.sparse_embedding, url).to.equal({ ledger: 2 });
        }

        const only = await firstOf('/search?q=ledger&include=embedding');
        expect(only.embedding).to.equal([0.25, -1]);
        expect(only).to.not.include('sparse_embedding');
    });
});
