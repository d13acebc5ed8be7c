// The Search tryout on the suite's real engine (FTS5 or PostgreSQL): the
// same service and the same 400s as GET /search, and pages.

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { adminHeaders } from '../../helpers/server';
import type { TestServer } from '../../helpers/server';
import { createConsoleServer } from './helpers';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

describe('console: Search tryout on the real engine', () => {

    let t: TestServer;

    before(async () => {

        t = await createConsoleServer();
        for (let i = 0; i < 12; ++i) {
            const res = await t.server.inject({ method: 'POST', url: '/resources', payload: { title: `Harbour ledger ${i}`, description: 'Ships and their cargo, as the clerks wrote them down.' } });
            expect(res.statusCode).to.equal(201);
        }
    });

    after(async () => {

        await t.stop();
    });

    const tryout = (query: string) => t.server.inject({ url: `/console/panels/search/results?${query}`, headers: { ...adminHeaders, 'hx-request': 'true' } });

    it('answers what /search answers 400 for with the same message as an HTML fragment, never a 500', async () => {

        for (const q of ['%22', '-ships', 'ships%20NOT', '(ships%20cargo)', '%00', 'ships%00', '***']) {
            const api = await t.server.inject(`/search?q=${q}`);
            const res = await tryout(`q=${q}`);
            expect(res.statusCode, q).to.equal(400);
            expect(api.statusCode, q).to.equal(400);
            expect(res.headers['content-type']).to.contain('text/html');
            // The console escapes the message; the text is the API's.
            const message = (JSON.parse(api.payload) as { message: string }).message.replace(/"/g, '&quot;');
            expect(res.payload, q).to.contain(message);
        }
    });

    it('searches a query of only common words, as /search does', async () => {

        const api = JSON.parse((await t.server.inject('/search?q=the&limit=50')).payload) as { total: number };
        expect(api.total).to.equal(12);
        const res = await tryout('q=the');
        expect(res.statusCode).to.equal(200);
        expect(res.payload).to.contain('12 results (1–10) for <q>the</q>');
    });

    it('pages through the results with next and previous links', async () => {

        const first = await tryout('q=ledger&limit=5');
        expect(first.payload).to.contain('12 results (1–5)');
        expect(first.payload).to.contain('hx-get="/console/panels/search/results?q=ledger&amp;limit=5&amp;offset=5"');
        expect(first.payload).to.not.contain('Previous');

        const last = await tryout('q=ledger&limit=5&offset=10');
        expect(last.payload).to.contain('12 results (11–12)');
        expect(last.payload).to.contain('<td class="num">11</td>');
        expect(last.payload).to.contain('hx-get="/console/panels/search/results?q=ledger&amp;limit=5&amp;offset=5"');
        expect(last.payload).to.not.contain('Next');

        const api = JSON.parse((await t.server.inject('/search?q=ledger&limit=5&offset=10')).payload) as { items: Array<{ resource: { title: string } }> };
        for (const item of api.items) {
            expect(last.payload).to.contain(item.resource.title);
        }
    });
});
