import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { createTestServer } from '../helpers/server';

export const lab = Lab.script();
const { describe, it } = lab;

describe('core: the root path', () => {

    it('redirects / to the API documentation, which answers', async () => {

        const t = await createTestServer();
        try {
            const res = await t.server.inject('/');
            expect(res.statusCode).to.equal(302);
            expect(res.headers.location).to.equal('/documentation');
            expect((await t.server.inject('/documentation')).statusCode).to.equal(200);
        }
        finally {
            await t.stop();
        }
    });

    it('redirects to the console when the API is off, and is a 404 when both are', async () => {

        const consoleOnly = await createTestServer({ ENABLE_API: '0' });
        try {
            const res = await consoleOnly.server.inject('/');
            expect(res.statusCode).to.equal(302);
            expect(res.headers.location).to.equal('/console');
        }
        finally {
            await consoleOnly.stop();
        }

        const neither = await createTestServer({ ENABLE_API: '0', ENABLE_CONSOLE: '0' });
        try {
            expect((await neither.server.inject('/')).statusCode).to.equal(404);
        }
        finally {
            await neither.stop();
        }
    });
});
