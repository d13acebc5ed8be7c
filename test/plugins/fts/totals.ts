// Totals past EXACT_TOTAL_UP_TO: a lower bound with total_relation "gte"
// unless the client asks for exact_total, the same on both engines.

import { randomUUID } from 'node:crypto';

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { EXACT_TOTAL_UP_TO } from '../../../server/search/service';
import { createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const LIBRARY = EXACT_TOTAL_UP_TO + 12;
const READ = 9;

describe('fts: totals past 10,000 matches', () => {

    let t: TestServer;

    const search = async (query: string, expectedStatus = 200) => {

        const res = await t.server.inject(`/search?${query}`);
        expect(res.statusCode, res.payload).to.equal(expectedStatus);
        return JSON.parse(res.payload);
    };

    before(async () => {

        t = await createTestServer();
        // Every resource holds "quokka" and "wombat"; READ of them are read.
        const rows = Array.from({ length: LIBRARY }, (_, i) => ({
            id: randomUUID(),
            title: `Quokka note ${i}`,
            description: `A wombat met a quokka near burrow ${i}.`,
            subject: JSON.stringify(['marsupials']),
            read_status: i < READ ? 'read' : 'unread'
        }));
        // knex inserts many rows on SQLite as one compound SELECT, limited to 500 terms.
        await t.server.knex.batchInsert('resources', rows, 90);
    });

    after(async () => {

        await t.stop();
    });

    it('reports 10,000 with total_relation "gte" past 10,000 matches, for one word and for several', async () => {

        for (const q of ['quokka', 'quokka%20wombat', 'quokka%20OR%20kangaroo', 'quok*']) {
            const body = await search(`q=${q}&limit=3`);
            expect(body.total, q).to.equal(EXACT_TOTAL_UP_TO);
            expect(body.total_relation, q).to.equal('gte');
            expect(body.items, q).to.have.length(3);
        }
    });

    it('counts every match with exact_total=true', async () => {

        for (const q of ['quokka', 'quokka%20wombat']) {
            const body = await search(`q=${q}&limit=1&exact_total=true`);
            expect(body.total, q).to.equal(LIBRARY);
            expect(body.total_relation, q).to.equal('eq');
        }
    });

    it('stays exact ("eq") at or below 10,000 matches, filters included, and past the last page', async () => {

        const filtered = await search('q=quokka&read_status=read');
        expect(filtered).to.include({ total: READ, total_relation: 'eq' });
        expect(filtered.items).to.have.length(READ);
        const one = await search('q=burrow%20"burrow 7"');
        expect(one).to.include({ total: 1, total_relation: 'eq' });
        const none = await search('q=quokka%20platypus');
        expect(none).to.include({ total: 0, total_relation: 'eq' });
        const deep = await search(`q=quokka&offset=${LIBRARY}`);
        expect(deep).to.include({ total: EXACT_TOTAL_UP_TO, total_relation: 'gte', items: [] });
    });

    it('answers 400 for an exact_total that is not a boolean', async () => {

        const body = await search('q=quokka&exact_total=maybe', 400);
        expect(body.message).to.contain('exact_total');
    });
});
