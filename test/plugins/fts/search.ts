// The search suite both fts plugins must pass: the same tests, run on the
// dialect of the suite (npm test: SQLite, npm run test:pg: PostgreSQL).

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { refreshChampionsIfStale } from '../../../plugins/fts-postgres/search';
import { rebuildSearchStorage } from '../../../server/search/storage';
import { postgresOnly } from '../../helpers/database';
import { createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

interface Item {
    resource: Record<string, any>;
    rank: number;
    snippet: string;
}

interface Body {
    total: number;
    items: Item[];
    suggestion?: string;
    message?: string;
}

describe('fts: GET /search', () => {

    let t: TestServer;
    const ids: Record<string, string> = {};

    const search = async (query: string, expectedStatus = 200): Promise<Body> => {

        const res = await t.server.inject(`/search?${query.includes('=') ? query : `q=${encodeURIComponent(query)}`}`);
        expect(res.statusCode, res.payload).to.equal(expectedStatus);
        return JSON.parse(res.payload);
    };

    const titles = (body: Body) => body.items.map((item) => item.resource.title);

    const insert = async (key: string, fields: Record<string, unknown>) => {

        const res = await t.server.inject({ method: 'POST', url: '/resources', payload: fields });
        expect(res.statusCode, res.payload).to.equal(201);
        ids[key] = (res.result as { id: string }).id;
    };

    before(async () => {

        t = await createTestServer();
        await t.server.knex('classification_codes').insert([{ code: '900', label: 'History' }, { code: '500', label: 'Science' }]);
        const filler = 'collected over many years by the members of a small society';
        await insert('title', { title: 'Zeppelin mooring mast', description: `A mooring mast for airships, ${filler}.`, subject: ['aviation'] });
        await insert('description', { title: 'Airship mooring mast', description: `A mooring mast for zeppelin, ${filler}.`, subject: ['aviation'] });
        await insert('subject', { title: 'Airship mooring mast', description: `A mooring mast for airships, ${filler}.`, subject: ['zeppelin'] });
        await insert('rome', { title: 'Roman trade routes', description: 'Ships carried grain from Egypt to Rome; the trade routes of the empire.', subject: ['history', 'trade'], classification_code: '900', read_status: 'read', quality_score: 0.9 });
        await insert('carthage', { title: 'Carthage and Rome', description: 'Rival trade powers of the Mediterranean, and the ships of Carthage.', subject: ['history'], classification_code: '900', read_status: 'unread', quality_score: 0.4 });
        await insert('physics', { title: 'Physics of sailing ships', description: 'Why ships sail upwind: lift, drag and keels.', subject: ['physics', 'trade'], classification_code: '500', read_status: 'read', quality_score: 0.7 });
        await insert('xss', { title: 'Escaping markup', description: 'A <script>alert("numismatics")</script> tag & an "attribute" near the word numismatics.', subject: ['numismatics'] });
    });

    after(async () => {

        await t.stop();
    });

    it('ranks a title match above a description match above a subject match', async () => {

        const body = await search('zeppelin');
        expect(body.total).to.equal(3);
        expect(body.items.map((item) => item.resource.id)).to.equal([ids.title, ids.description, ids.subject]);
        expect(body.items[0]!.rank).to.be.above(body.items[1]!.rank);
        expect(body.items[1]!.rank).to.be.above(body.items[2]!.rank);
    });

    it('returns whole resources with the same JSON shape as /resources', async () => {

        const res = await t.server.inject(`/resources/${ids.carthage}`);
        const { embedding: _embedding, sparse_embedding: _sparse, ...listed } = JSON.parse(res.payload);
        expect((await search('carthage')).items[0]!.resource).to.equal(listed);
        expect((await search('q=carthage&include=embedding,sparse_embedding')).items[0]!.resource).to.equal(JSON.parse(res.payload));
    });

    it('matches words with their inflections, phrases, OR, exclusions and prefixes', async () => {

        expect((await search('ship')).total).to.equal(3);
        expect(titles(await search('"trade routes"'))).to.equal(['Roman trade routes']);
        expect((await search('"routes trade"')).total).to.equal(0);
        expect(titles(await search('ships -carthage -physics'))).to.equal(['Roman trade routes']);
        expect((await search('keels OR grain')).total).to.equal(2);
        expect((await search('keels grain')).total).to.equal(0);
        expect((await search('medit*')).items.map((item) => item.resource.id)).to.equal([ids.carthage]);
        expect((await search('Mediterranean!!! (the) AND: ROME')).items.map((item) => item.resource.id)).to.equal([ids.carthage]);
    });

    it('searches a query of only common words instead of refusing it', async () => {

        // Every document but the physics one has "the" somewhere.
        const the = await search('the');
        expect(the.total).to.equal(6);
        expect(the.items.map((item) => item.resource.id)).to.not.include(ids.physics);
        expect((await search('(the)')).total).to.equal(6);
        expect(titles(await search('"the ships"'))).to.equal(['Carthage and Rome']);
        expect((await search('them')).total).to.equal(0);
        // With other words, common words are left out.
        expect((await search('the keels')).total).to.equal(1);
    });

    it('gives a phrase with a common word the same meaning on both engines: the exact phrase', async () => {

        // "Rome; the trade": once, in one document. PostgreSQL's english
        // configuration used to drop "the" and match every Rome.
        expect(titles(await search('"rome the"'))).to.equal(['Roman trade routes']);
        expect(titles(await search('"grain from egypt"'))).to.equal(['Roman trade routes']);
        expect((await search('"grain egypt"')).total).to.equal(0);
    });

    it('reads NOT as an exclusion, AND as the default and parentheses around alternatives', async () => {

        // Before, NOT was dropped: "ships NOT carthage" also returned Carthage.
        expect((await search('ships NOT carthage')).items.map((item) => item.resource.id).sort()).to.equal([ids.rome, ids.physics].sort());
        expect(titles(await search('ships NOT carthage NOT physics'))).to.equal(['Roman trade routes']);
        expect((await search('ships AND grain')).total).to.equal(1);
        expect((await search('ships AND (keels OR grain)')).total).to.equal(2);
    });

    it('combines filters with search and counts the total exactly', async () => {

        expect((await search('q=ships&classification_code=900')).total).to.equal(2);
        expect((await search('q=ships&read_status=read')).total).to.equal(2);
        expect((await search('q=ships&min_quality=0.75')).total).to.equal(1);
        expect((await search('q=ships&subject=trade')).total).to.equal(2);
        expect((await search('q=ships&subject=trade&subject=history')).total).to.equal(1);
        const page = await search('q=ships&read_status=read&limit=1&offset=1');
        expect(page.total).to.equal(2);
        expect(page.items).to.have.length(1);
        const first = await search('q=ships&read_status=read&limit=1');
        expect(first.items[0]!.resource.id).to.not.equal(page.items[0]!.resource.id);
    });

    it('still gives the exact total for a page past the last match, with or without filters', async () => {

        const all = await search('q=ships');
        expect(all.total).to.be.above(1);
        for (const query of [`q=ships&offset=${all.total}`, 'q=ships&offset=500', 'q=ships&read_status=read&offset=2']) {
            const page = await search(query);
            expect(page.items, query).to.equal([]);
            expect(page.total, query).to.equal(query.includes('read_status') ? 2 : all.total);
            expect(page.suggestion, query).to.not.exist();
        }
    });

    it('returns HTML-escaped snippets with <mark> around the matches', async () => {

        const body = await search('numismatics');
        const snippet = body.items[0]!.snippet;
        expect(snippet).to.contain('<mark>numismatics</mark>');
        expect(snippet).to.not.contain('<script');
        // Outside the <mark> elements no markup survives.
        expect(snippet.replace(/<\/?mark>/g, '')).to.not.match(/[<>]/);
        const carthage = await search('carthage');
        expect(carthage.items[0]!.snippet).to.match(/<mark>Carthage<\/mark>/);
    });

    it('suggests a close query when nothing matches, from titles and from subjects', async () => {

        const typo = await search('zeppeln');
        expect(typo.total).to.equal(0);
        expect(typo.items).to.equal([]);
        expect(typo.suggestion).to.equal('zeppelin');
        expect((await search('numismatcs')).suggestion).to.equal('numismatics');
        expect((await search('ships carthagr')).suggestion).to.equal('ships carthage');
        expect((await search('qwxyzzy')).suggestion).to.not.exist();
    });

    it('breaks rank ties by updated_at (newest first), then by id', async () => {

        const text = { title: 'Identical twin record', description: 'Same words exactly.', subject: ['twins'] };
        const rows = [
            { id: 'ffffffff-0000-4000-8000-000000000001', updated_at: '2025-01-01T00:00:00.000Z' },
            { id: '00000000-0000-4000-8000-000000000002', updated_at: '2025-01-01T00:00:00.000Z' },
            { id: '88888888-0000-4000-8000-000000000003', updated_at: '2025-06-01T00:00:00.000Z' }
        ];
        await t.server.knex('resources').insert(rows.map((row) => ({ ...text, ...row, subject: JSON.stringify(text.subject), created_at: row.updated_at })));
        const body = await search('twin');
        expect(body.items.map((item) => item.resource.id)).to.equal([rows[2]!.id, rows[1]!.id, rows[0]!.id]);
        expect(new Set(body.items.map((item) => item.rank)).size).to.equal(1);
        // Page by page, the tie-break still holds at the page boundary.
        for (const [offset, row] of [rows[2]!, rows[1]!, rows[0]!].entries()) {
            expect((await search(`q=twin&limit=1&offset=${offset}`)).items.map((item) => item.resource.id)).to.equal([row.id]);
        }
    });

    it('keeps the index current as resources are updated and deleted', async () => {

        await insert('changing', { title: 'Temporary heliograph notes', description: 'Signals with mirrors.', subject: ['optics'] });
        expect((await search('heliograph')).total).to.equal(1);
        const patched = await t.server.inject({ method: 'PATCH', url: `/resources/${ids.changing}`, payload: { title: 'Temporary semaphore notes', subject_add: ['telegraphy'] } });
        expect(patched.statusCode, patched.payload).to.equal(200);
        expect((await search('heliograph')).total).to.equal(0);
        expect((await search('semaphore telegraphy')).items.map((item) => item.resource.id)).to.equal([ids.changing]);
        const deleted = await t.server.inject({ method: 'DELETE', url: `/resources/${ids.changing}` });
        expect(deleted.statusCode).to.be.within(200, 204);
        expect((await search('semaphore')).total).to.equal(0);
    });

    it('gives the same answers after rebuildSearchStorage recomputes every derived structure', async () => {

        const before = await search('ships OR zeppelin');
        await rebuildSearchStorage(t.server.knex, t.server.db.type);
        const after = await search('ships OR zeppelin');
        expect(after.total).to.equal(before.total);
        expect(after.items.map((item) => [item.resource.id, item.rank])).to.equal(before.items.map((item) => [item.resource.id, item.rank]));
        expect((await search('numismatcs')).suggestion).to.equal('numismatics');
    });

    it('holds no pool connection once a search has answered', async () => {

        await Promise.all([search('ships'), search('zeppeln'), search('q=trade&subject=history')]);
        expect((t.server.knex.client as any).pool.numUsed()).to.equal(0);
    });

    it('answers 400 with a message saying what to fix for unusable input', async () => {

        expect((await search('q=', 400)).message).to.match(/"q" is not allowed to be empty/);
        expect((await search('limit=5', 400)).message).to.match(/"q" is required/);
        expect((await search('*** ()', 400)).message).to.match(/no searchable words/);
        expect((await search('ships (trade rome)', 400)).message).to.match(/Parentheses can only group alternatives joined by OR/);
        expect((await search('ships NOT', 400)).message).to.match(/NOT must be followed by a word/);
        expect((await search('-ships', 400)).message).to.match(/only excludes terms/);
        expect((await search(`q=${'a'.repeat(1001)}`, 400)).message).to.match(/1000/);
        expect((await search('q=ships&limit=0', 400)).message).to.match(/limit/);
        expect((await search('q=ships&min_quality=2', 400)).message).to.match(/min_quality/);
        expect((await search('q=ships&read_status=lost', 400)).message).to.match(/read_status/);
    });

    it('postgres only: trigger-maintained bm25 statistics equal a full rebuild', postgresOnly, async () => {

        const snapshot = async () => {

            const lexemes = await t.server.knex('search_lexeme_stats').where('ndoc', '>', 0).orderBy('lexeme').select('lexeme', 'ndoc');
            const corpus = await t.server.knex('search_corpus_stats').select('ndocs', 'total_len');
            const docs = await t.server.knex('resource_search').orderBy('resource_id').select('resource_id', 'doc_len', 'updated_at', t.server.knex.raw('vec::text AS vec'));
            return { lexemes, corpus, docs };
        };

        const maintained = await snapshot();
        expect(Number(maintained.corpus[0]!.ndocs)).to.equal(maintained.docs.length);
        await t.server.knex.raw('SELECT search_storage_rebuild()');
        expect(await snapshot()).to.equal(maintained);

        // A role that may not create temporary tables rebuilds without the
        // parallel token count, to the same data.
        const { knex } = t.server;
        const role = `na_no_temp_${process.pid}`;
        const database = (await knex.raw('SELECT current_database() AS name')).rows[0].name;
        await knex.raw('CREATE ROLE ?? NOLOGIN', [role]);
        await knex.raw('REVOKE TEMPORARY ON DATABASE ?? FROM PUBLIC', [database]);
        try {
            await knex.raw('GRANT USAGE ON SCHEMA public TO ??', [role]);
            await knex.raw('GRANT ALL ON ALL TABLES IN SCHEMA public TO ??', [role]);
            await knex.raw('GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ??', [role]);
            await knex.transaction(async (trx) => {

                await trx.raw('SET LOCAL ROLE ??', [role]);
                expect((await trx.raw("SELECT has_database_privilege(current_database(), 'TEMPORARY') AS temp")).rows[0].temp).to.equal(false);
                await trx.raw('SELECT search_storage_rebuild()');
            });
            expect(await snapshot()).to.equal(maintained);
        }
        finally {
            await knex.raw('GRANT TEMPORARY ON DATABASE ?? TO PUBLIC', [database]);
            await knex.raw('DROP OWNED BY ??', [role]);
            await knex.raw('DROP ROLE ??', [role]);
        }
    });

    it('postgres only: ranking through champion lists gives the page ranking every match gives', postgresOnly, async () => {

        const pages = async () => await Promise.all([
            'q=ships&limit=2', 'q=ships&limit=3', 'q=mast&limit=1&offset=1', 'q=ships&limit=1&read_status=read',
            // Several terms of every kind, so each binding must land in its own placeholder.
            `q=${encodeURIComponent('"trade routes" ships')}&limit=2`, `q=${encodeURIComponent('medit* rome -physics')}&limit=2`,
            `q=${encodeURIComponent('keels OR grain ships')}&limit=2`
        ].map((query) => search(query)));
        const exact = await pages();
        // Every lexeme gets a list of its best two documents.
        await t.server.knex.raw('SELECT search_champions_refresh(1, 2)');
        try {
            expect(Number((await t.server.knex('search_champions').count({ count: '*' }))[0]!.count)).to.be.above(0);
            expect(await pages()).to.equal(exact);
            // A document written after the build is ranked although it is in no list.
            await insert('late', { title: 'Ships ships ships', description: 'Ships.', subject: ['ships'] });
            expect((await search('q=ships&limit=1')).items[0]!.resource.id).to.equal(ids.late);
            expect(await refreshChampionsIfStale(t.server.knex, 2)).to.equal(null);
            expect(await refreshChampionsIfStale(t.server.knex, 1)).to.equal(1);
            expect((await search('q=ships&limit=1')).items[0]!.resource.id).to.equal(ids.late);
        }
        finally {
            await t.server.knex.raw('SELECT search_champions_refresh()');
        }
    });
});
