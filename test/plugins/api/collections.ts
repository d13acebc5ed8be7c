import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const MISSING = '00000000-0000-4000-8000-00000000abcd';

describe('api: collections, annotations and taxonomy', () => {

    let t: TestServer;

    before(async () => {

        // The demo seed gives collections, annotations and a taxonomy to read.
        t = await createTestServer({}, { seed: true });
    });

    after(async () => {

        await t.stop();
    });

    const inject = async (method: string, url: string, payload?: unknown) => {

        const res = await t.server.inject({ method, url, payload: payload as object });
        return { status: res.statusCode, body: res.payload ? JSON.parse(res.payload) : null, headers: res.headers };
    };

    const anyResource = async () => (await inject('GET', '/resources?limit=3')).body.items as Array<{ id: string }>;

    it('creates, nests, renames and deletes collections', async () => {

        const parent = await inject('POST', '/collections', { name: 'Parent', visibility: 'public' });
        expect(parent.status).to.equal(201);
        const child = await inject('POST', '/collections', { name: 'Child', parent_id: parent.body.id });
        expect(child.body.parent_id).to.equal(parent.body.id);

        const renamed = await inject('PATCH', `/collections/${child.body.id}`, { name: 'Renamed' });
        expect(renamed.body.name).to.equal('Renamed');

        const children = await inject('GET', `/collections?parent_id=${parent.body.id}`);
        expect(children.body.items.map((item: any) => item.name)).to.equal(['Renamed']);

        expect((await inject('DELETE', `/collections/${parent.body.id}`)).status).to.equal(204);
        // Sub-collections go with their parent (ON DELETE CASCADE).
        expect((await inject('GET', `/collections/${child.body.id}`)).status).to.equal(404);
    });

    it('refuses a parent that would make a cycle', async () => {

        const a = (await inject('POST', '/collections', { name: 'A' })).body;
        const b = (await inject('POST', '/collections', { name: 'B', parent_id: a.id })).body;
        const self = await inject('PATCH', `/collections/${a.id}`, { parent_id: a.id });
        expect(self.status).to.equal(422);
        const cycle = await inject('PATCH', `/collections/${a.id}`, { parent_id: b.id });
        expect(cycle.status).to.equal(422);
        expect(cycle.body.message).to.contain('own ancestor');
        const missing = await inject('PATCH', `/collections/${a.id}`, { parent_id: MISSING });
        expect(missing.status).to.equal(422);
    });

    it('adds and removes resources idempotently', async () => {

        const collection = (await inject('POST', '/collections', { name: 'Members' })).body;
        const [first, second] = await anyResource();
        expect((await inject('PUT', `/collections/${collection.id}/resources/${first!.id}`)).status).to.equal(204);
        expect((await inject('PUT', `/collections/${collection.id}/resources/${first!.id}`)).status).to.equal(204);
        expect((await inject('PUT', `/collections/${collection.id}/resources/${second!.id}`)).status).to.equal(204);

        const members = await inject('GET', `/collections/${collection.id}/resources`);
        expect(members.body.total).to.equal(2);
        expect(members.body.items[0]).to.include(['id', 'title', 'subject']);
        expect((await inject('GET', `/collections/${collection.id}`)).body.resource_count).to.equal(2);

        expect((await inject('DELETE', `/collections/${collection.id}/resources/${first!.id}`)).status).to.equal(204);
        expect((await inject('DELETE', `/collections/${collection.id}/resources/${first!.id}`)).status).to.equal(404);
        expect((await inject('PUT', `/collections/${collection.id}/resources/${MISSING}`)).status).to.equal(404);
        expect((await inject('PUT', `/collections/${MISSING}/resources/${first!.id}`)).status).to.equal(404);
    });

    it('validates collection input', async () => {

        expect((await inject('POST', '/collections', { name: '' })).status).to.equal(400);
        expect((await inject('POST', '/collections', { name: 'x', visibility: 'secret' })).status).to.equal(400);
        expect((await inject('POST', '/collections', { name: 'x', owner_id: MISSING })).status).to.equal(422);
        expect((await inject('GET', '/collections?limit=101')).status).to.equal(400);
        expect((await inject('PATCH', `/collections/${MISSING}`, { name: 'x' })).status).to.equal(404);
    });

    it('lists the seeded collections', async () => {

        const page = await inject('GET', '/collections?limit=100');
        expect(page.body.total as number).to.be.at.least(5);
    });

    it('annotates a resource and reads annotations in order', async () => {

        const [resource] = await anyResource();
        const base = `/resources/${resource!.id}/annotations`;
        const before = (await inject('GET', base)).body.total;
        const late = await inject('POST', base, { start_offset: 50, end_offset: 60, highlighted_text: 'later', tags: ['x'], is_shared: true });
        const early = await inject('POST', base, { start_offset: 0, end_offset: 4, highlighted_text: 'soon', note: 'n' });
        expect(late.status).to.equal(201);
        expect(late.body.is_shared).to.equal(true);
        expect(early.body.is_shared).to.equal(false);
        expect(early.body.tags).to.equal([]);
        expect(early.headers.location).to.equal(`${base}/${early.body.id}`);

        const list = await inject('GET', base);
        expect(list.body.total).to.equal(before + 2);
        const offsets = list.body.items.map((item: any) => item.start_offset);
        expect(offsets).to.equal([...offsets].sort((a: number, b: number) => a - b));

        const tagged = await inject('GET', `${base}?tag=x`);
        expect(tagged.body.items.map((item: any) => item.id)).to.include(late.body.id);

        const patched = await inject('PATCH', `${base}/${early.body.id}`, { note: 'updated', color: '#00ff00' });
        expect(patched.body).to.include({ note: 'updated', color: '#00ff00' });
        expect((await inject('PATCH', `${base}/${early.body.id}`, { end_offset: 100, start_offset: 200 })).status).to.equal(400);
        expect((await inject('PATCH', `${base}/${early.body.id}`, { start_offset: 10 })).status).to.equal(400);

        expect((await inject('DELETE', `${base}/${early.body.id}`)).status).to.equal(204);
        expect((await inject('GET', `${base}/${early.body.id}`)).status).to.equal(404);
    });

    it('validates annotation input', async () => {

        const [resource] = await anyResource();
        const base = `/resources/${resource!.id}/annotations`;
        expect((await inject('POST', base, { start_offset: 5, end_offset: 2, highlighted_text: 'x' })).status).to.equal(400);
        expect((await inject('POST', base, { start_offset: 0, end_offset: 2 })).status).to.equal(400);
        expect((await inject('POST', base, { start_offset: 0, end_offset: 2, highlighted_text: 'x', color: 'red' })).body.message).to.contain('hex colour');
        expect((await inject('POST', base, { start_offset: 0, end_offset: 2, highlighted_text: 'x', user_id: MISSING })).status).to.equal(422);
        expect((await inject('POST', `/resources/${MISSING}/annotations`, { start_offset: 0, end_offset: 2, highlighted_text: 'x' })).status).to.equal(404);
        expect((await inject('GET', `${base}/${MISSING}`)).status).to.equal(404);
    });

    it('reads classification codes and the taxonomy tree', async () => {

        const codes = await inject('GET', '/classification-codes');
        expect(codes.body.total as number).to.be.at.least(5);
        const top = codes.body.items.find((code: any) => code.parent_code === null);
        const one = await inject('GET', `/classification-codes/${top.code}`);
        expect(one.body.children.length as number).to.be.above(0);
        expect((await inject('GET', `/classification-codes?parent_code=${top.code}`)).body.total).to.equal(one.body.children.length);
        expect((await inject('GET', '/classification-codes/NOPE')).status).to.equal(404);

        const tree = await inject('GET', '/taxonomy');
        expect(tree.body.tree).to.have.length(1);
        const root = tree.body.tree[0];
        expect(root.children.length).to.equal(5);
        expect(root.children[0].children.length as number).to.be.above(0);

        const field = await inject('GET', `/taxonomy/${root.children[0].id}`);
        expect(field.body.children.map((child: any) => child.id)).to.equal(root.children[0].children.map((child: any) => child.id));
        expect((await inject('GET', `/taxonomy/${MISSING}`)).status).to.equal(404);
        expect((await inject('GET', '/taxonomy/xyz')).status).to.equal(400);
    });

    it('gives the seeded library the shapes the API promises', async () => {

        const page = await inject('GET', '/resources?limit=20&include=embedding');
        expect(page.body.total).to.equal(300);
        for (const item of page.body.items) {
            expect(Array.isArray(item.subject)).to.be.true();
            expect(Array.isArray(item.embedding)).to.be.true();
            expect(typeof item.quality_score).to.equal('number');
        }
    });
});
