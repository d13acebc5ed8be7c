import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

describe('api: resources', () => {

    let t: TestServer;

    before(async () => {

        t = await createTestServer();
    });

    after(async () => {

        await t.stop();
    });

    const create = async (payload: object) => {

        const res = await t.server.inject({ method: 'POST', url: '/resources', payload });
        expect(res.statusCode, res.payload).to.equal(201);
        return res.result as Record<string, any>;
    };

    it('creates and reads back a resource with the same JSON shape on every dialect', async () => {

        const created = await create({ title: 'Dual dialects', subject: ['databases', 'sqlite'], embedding: [0.5, -1.25e-7, 3], sparse_embedding: { a: 1 }, quality_score: 0.75 });
        expect(created.id).to.match(/^[0-9a-f-]{36}$/);
        const res = await t.server.inject(`/resources/${created.id}`);
        expect(res.statusCode).to.equal(200);
        const body = JSON.parse(res.payload);
        expect(body.subject).to.equal(['databases', 'sqlite']);
        expect(body.relation).to.equal([]);
        expect(body.embedding).to.equal([0.5, -1.25e-7, 3]);
        expect(body.sparse_embedding).to.equal({ a: 1 });
        expect(body.quality_score).to.equal(0.75);
        expect(body.read_status).to.equal('unread');
        expect(body.created_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(body).to.not.include('search_vector');
    });
});
