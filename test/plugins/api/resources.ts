import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { emptyAllTables } from '../../helpers/database';
import { createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after, beforeEach } = lab;

const MISSING = '00000000-0000-4000-8000-00000000abcd';

describe('api: resources', () => {

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

    const inject = (method: string, url: string, payload?: unknown) => t.server.inject({ method, url, payload: payload as object });

    const create = async (payload: object) => {

        const res = await inject('POST', '/resources', payload);
        expect(res.statusCode, res.payload).to.equal(201);
        return res.result as Record<string, any>;
    };

    const list = async (query: string) => {

        const res = await inject('GET', `/resources?${query}`);
        expect(res.statusCode, res.payload).to.equal(200);
        return JSON.parse(res.payload) as { total: number; items: Array<Record<string, any>>; next_cursor: string | null };
    };

    it('creates and reads back a resource with the same JSON shape on every dialect', async () => {

        const created = await create({ title: 'Dual dialects', subject: ['databases', 'sqlite'], embedding: [0.5, -1.25e-7, 3], sparse_embedding: { a: 1 }, quality_score: 0.75 });
        expect(created.id).to.match(/^[0-9a-f-]{36}$/);
        const res = await inject('GET', `/resources/${created.id}`);
        expect(res.statusCode).to.equal(200);
        expect(res.headers['content-type']).to.contain('application/json');
        const body = JSON.parse(res.payload);
        expect(body.subject).to.equal(['databases', 'sqlite']);
        expect(body.relation).to.equal([]);
        expect(body.embedding).to.equal([0.5, -1.25e-7, 3]);
        expect(body.sparse_embedding).to.equal({ a: 1 });
        expect(body.quality_score).to.equal(0.75);
        expect(body.read_status).to.equal('unread');
        expect(body.ingestion_started_at).to.be.null();
        expect(body.created_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(body).to.not.include('search_vector');
        expect(Object.keys(body).sort()).to.equal(Object.keys(created).sort());
    });

    it('answers the Location of a created resource', async () => {

        const res = await inject('POST', '/resources', { title: 'Located' });
        expect(res.headers.location).to.equal(`/resources/${(res.result as any).id}`);
    });

    it('filters by subject containment, class, status, quality and creation time', async () => {

        await create({ title: 'a', subject: ['databases', 'sqlite'], quality_score: 0.9, read_status: 'read' });
        await create({ title: 'b', subject: ['databases'], quality_score: 0.4 });
        await create({ title: 'c', subject: ['physics'], quality_score: 0.95 });

        expect((await list('subject=databases')).items.map((item) => item.title).sort()).to.equal(['a', 'b']);
        expect((await list('subject=databases&subject=sqlite')).items.map((item) => item.title)).to.equal(['a']);
        expect((await list('subject=Databases')).total).to.equal(0);
        expect((await list('read_status=read')).items.map((item) => item.title)).to.equal(['a']);
        expect((await list('min_quality=0.9')).items.map((item) => item.title).sort()).to.equal(['a', 'c']);
        expect((await list('created_after=2000-01-01T00:00:00Z&created_before=2999-01-01')).total).to.equal(3);
        expect((await list('created_after=2999-01-01T00:00:00Z')).total).to.equal(0);
    });

    it('filters by classification code', async () => {

        await t.server.models.ClassificationCode.query().insert({ code: '004', label: 'Computing' });
        await create({ title: 'classified', classification_code: '004' });
        await create({ title: 'unclassified' });
        const page = await list('classification_code=004');
        expect(page.items.map((item) => item.title)).to.equal(['classified']);
    });

    it('pages through every resource exactly once with the cursor, for each sort', async () => {

        for (let i = 0; i < 23; ++i) {
            // Equal quality scores force the id tie-break.
            await create({ title: `r${i}`, quality_score: (i % 4) / 4 });
        }

        for (const sort of ['created_at', 'updated_at', 'quality_score']) {
            for (const order of ['asc', 'desc']) {
                const seen: string[] = [];
                let cursor: string | null = null;
                let pages = 0;
                do {
                    const page: Awaited<ReturnType<typeof list>> = await list(`sort=${sort}&order=${order}&limit=5${cursor ? `&cursor=${cursor}` : ''}`);
                    expect(page.total).to.equal(23);
                    seen.push(...page.items.map((item) => item.id));
                    cursor = page.next_cursor;
                    ++pages;
                }
                while (cursor && pages < 10);

                expect(seen.length, `${sort} ${order}`).to.equal(23);
                expect(new Set(seen).size).to.equal(23);
            }
        }

        const byQuality = await list('sort=quality_score&order=desc&limit=100');
        const scores = byQuality.items.map((item) => item.quality_score);
        expect(scores).to.equal([...scores].sort((a, b) => b - a));
    });

    it('pages with offset too', async () => {

        for (let i = 0; i < 7; ++i) {
            await create({ title: `o${i}` });
        }

        const first = await list('limit=5&offset=0');
        const second = await list('limit=5&offset=5');
        expect(first.items.length).to.equal(5);
        expect(second.items.length).to.equal(2);
        expect(second.next_cursor).to.be.null();
    });

    it('updates fields with PATCH and bumps updated_at', async () => {

        const created = await create({ title: 'Before', description: 'x' });
        await new Promise((resolve) => setTimeout(resolve, 5));
        const res = await inject('PATCH', `/resources/${created.id}`, { title: 'After', read_status: 'read', description: '' });
        expect(res.statusCode, res.payload).to.equal(200);
        const body = res.result as Record<string, any>;
        expect(body.title).to.equal('After');
        expect(body.description).to.be.null();
        expect(body.read_status).to.equal('read');
        expect(body.updated_at > created.updated_at).to.be.true();
        expect(body.created_at).to.equal(created.created_at);
    });

    it('loses no update when PATCHes race on the same resource', async () => {

        const created = await create({ title: 'Contended', subject: [] });
        const subjects = Array.from({ length: 20 }, (_, i) => `topic-${i}`);
        const results = await Promise.all(subjects.map((subject) => inject('PATCH', `/resources/${created.id}`, { subject_add: [subject] })));
        expect(results.map((res) => res.statusCode)).to.equal(subjects.map(() => 200));
        const final = (await inject('GET', `/resources/${created.id}`)).result as Record<string, any>;
        expect([...final.subject].sort()).to.equal([...subjects].sort());

        const removal = await inject('PATCH', `/resources/${created.id}`, { subject_remove: ['topic-3'] });
        expect((removal.result as any).subject).to.not.include('topic-3');
    });

    it('deletes a resource with its annotations', async () => {

        const created = await create({ title: 'Doomed' });
        await inject('POST', `/resources/${created.id}/annotations`, { start_offset: 0, end_offset: 1, highlighted_text: 'D' });
        const res = await inject('DELETE', `/resources/${created.id}`);
        expect(res.statusCode).to.equal(204);
        expect((await inject('GET', `/resources/${created.id}`)).statusCode).to.equal(404);
        expect(await t.server.models.Annotation.query().resultSize()).to.equal(0);
        expect((await inject('DELETE', `/resources/${created.id}`)).statusCode).to.equal(404);
    });

    it('answers bad input with a 4xx that says what to fix', async () => {

        const cases: Array<[string, string, unknown, number, RegExp]> = [
            ['POST', '/resources', '{"title": ', 400, /Invalid request payload JSON format/],
            ['POST', '/resources', {}, 400, /"title" is required/],
            ['POST', '/resources', { title: 42 }, 400, /"title" must be a string/],
            ['POST', '/resources', { title: 'x', colour: 'red' }, 400, /"colour" is not allowed/],
            ['POST', '/resources', { title: 'x', quality_score: 2 }, 400, /"quality_score" must be less than or equal to 1/],
            ['POST', '/resources', { title: 'x', subject: 'databases' }, 400, /"subject" must be an array/],
            ['POST', '/resources', { title: 'x', read_status: 'skimmed' }, 400, /"read_status" must be one of/],
            ['POST', '/resources', { title: 'x', owner_id: 'nope' }, 400, /"owner_id" must be a valid GUID/],
            ['POST', '/resources', { title: 'x', embedding: [1, 'a'] }, 400, /must be a number/],
            ['POST', '/resources', { title: 'x', owner_id: MISSING }, 422, /owner_id refers to a record that does not exist/],
            ['POST', '/resources', { title: 'x', classification_code: 'ZZZ' }, 422, /classification_code/],
            ['GET', '/resources?limit=1000', undefined, 400, /"limit" must be less than or equal to 100/],
            ['GET', '/resources?limit=abc', undefined, 400, /"limit" must be a number/],
            ['GET', '/resources?sort=title', undefined, 400, /"sort" must be one of/],
            ['GET', '/resources?cursor=garbage', undefined, 400, /cursor/],
            ['GET', '/resources?cursor=abc&offset=5', undefined, 400, /use either "cursor" or "offset"/],
            ['GET', '/resources?created_after=yesterday', undefined, 400, /"created_after" must be an ISO 8601 date between 0001-01-01 and 9999-12-31/],
            ['GET', '/resources?min_quality=-1', undefined, 400, /"min_quality" must be greater than or equal to 0/],
            ['GET', '/resources/not-a-uuid', undefined, 400, /"id" must be a valid GUID/],
            ['GET', `/resources/${MISSING}`, undefined, 404, /not found/],
            ['PATCH', `/resources/${MISSING}`, { title: 'x' }, 404, /not found/],
            ['PATCH', `/resources/${MISSING}`, {}, 400, /must have at least 1 key/],
            ['DELETE', '/resources/123', undefined, 400, /GUID/]
        ];

        for (const [method, url, payload, status, message] of cases) {
            const res = await t.server.inject({ method, url, payload: payload as string, headers: { 'content-type': 'application/json' } });
            expect(res.statusCode, `${method} ${url} ${JSON.stringify(payload)}`).to.equal(status);
            const body = JSON.parse(res.payload);
            expect(body.message, `${method} ${url}`).to.match(message);
            expect(res.payload).to.not.match(/select |insert into|SQLITE|stack|at \//i);
        }
    });

    it('rejects a cursor issued for another sort', async () => {

        for (let i = 0; i < 3; ++i) {
            await create({ title: `c${i}` });
        }

        const page = await list('limit=1&sort=created_at');
        const res = await inject('GET', `/resources?limit=1&sort=updated_at&cursor=${page.next_cursor}`);
        expect(res.statusCode).to.equal(400);
        expect(JSON.parse(res.payload).message).to.contain('different sort');
    });

    it('reports liveness and database reachability', async () => {

        const res = await inject('GET', '/health');
        expect(res.statusCode).to.equal(200);
        expect(res.result).to.include({ status: 'ok' });
        expect((res.result as any).database).to.include({ type: t.database.type, reachable: true });
    });

    it('serves an OpenAPI description', async () => {

        const res = await inject('GET', '/openapi.json');
        expect(res.statusCode).to.equal(200);
        const paths = Object.keys(JSON.parse(res.payload).paths);
        expect(paths).to.include(['/resources', '/resources/{id}', '/collections', '/taxonomy']);
        expect((await inject('GET', '/documentation')).statusCode).to.equal(200);
    });
});
