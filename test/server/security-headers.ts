import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { createTestServer, type TestServer } from '../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const failing = {
    name: 'test-failing-route',
    register(server: any) {

        server.route({ method: 'GET', path: '/test/fault', options: { auth: false, handler: () => {

            throw new Error('a server fault');
        } } });
    }
};

describe('security headers', () => {

    let t: TestServer;

    before(async () => {

        t = await createTestServer({ LOG_LEVEL: 'silent' }, { plugins: [failing] });
    });

    after(async () => {

        await t.stop();
    });

    it('are on every kind of response: API, errors, documentation, static files, console', async () => {

        const requests: Array<[string, number]> = [
            ['/health', 200],
            ['/resources?limit=2', 200],
            ['/resources/not-a-uuid', 400],
            ['/resources/00000000-0000-4000-8000-000000000000', 404],
            ['/no/such/route', 404],
            ['/monitoring/database', 401],
            ['/test/fault', 500],
            ['/documentation', 200],
            ['/openapi.json', 200],
            ['/console/assets/console.css', 200],
            ['/console/login', 200],
            ['/console/overview', 302]
        ];

        for (const [url, statusCode] of requests) {
            const res = await t.server.inject(url);
            expect(res.statusCode, url).to.equal(statusCode);
            expect(res.headers['x-content-type-options'], url).to.equal('nosniff');
            expect(res.headers['x-frame-options'], url).to.equal('DENY');
            expect(res.headers['referrer-policy'], url).to.equal('same-origin');
            expect(String(res.headers['content-security-policy']), url).to.contain("frame-ancestors 'none'");
        }
    });

    it('leaves the console its complete Content-Security-Policy', async () => {

        const res = await t.server.inject('/console/login');
        expect(res.headers['content-security-policy']).to.contain("script-src 'self'");
    });
});
