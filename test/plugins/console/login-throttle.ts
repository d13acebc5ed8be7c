import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { LoginThrottle } from '../../../plugins/console/login-throttle';
import { LOGIN_MAX_FAILURES } from '../../../plugins/console/session-routes';
import { TEST_ADMIN_TOKEN } from '../../helpers/server';
import { cookieValue, createConsoleServer } from './helpers';

export const lab = Lab.script();
const { describe, it } = lab;

describe('console: login throttle', () => {

    it('refuses an address after too many wrong tokens until its window has passed', () => {

        let now = 0;
        const throttle = new LoginThrottle({ maxFailures: 3, windowMs: 60_000, now: () => now });
        for (let i = 0; i < 3; ++i) {
            expect(throttle.retryAfter('a')).to.equal(0);
            throttle.fail('a');
        }

        expect(throttle.retryAfter('a')).to.equal(60);
        expect(throttle.retryAfter('b')).to.equal(0);
        now = 59_500;
        expect(throttle.retryAfter('a')).to.equal(1);
        now = 60_000;
        expect(throttle.retryAfter('a')).to.equal(0);
    });

    it('forgets an address on success and bounds how many it tracks', () => {

        const throttle = new LoginThrottle({ maxFailures: 1, windowMs: 60_000, maxAddresses: 2 });
        throttle.fail('a');
        throttle.succeed('a');
        expect(throttle.retryAfter('a')).to.equal(0);

        throttle.fail('x');
        throttle.fail('y');
        throttle.fail('z');
        expect(throttle.retryAfter('x')).to.equal(0);
        expect(throttle.retryAfter('y')).to.be.above(0);
        expect(throttle.retryAfter('z')).to.be.above(0);
    });

    it('answers 429 with Retry-After on the login form after too many wrong tokens, even for the right one', async () => {

        const t = await createConsoleServer();
        try {
            const page = await t.server.inject('/console/login');
            const crumb = cookieValue(page, 'crumb')!;
            const attempt = (token: string) => t.server.inject({ method: 'POST', url: '/console/login', headers: { cookie: `crumb=${crumb}` }, payload: { token, crumb } });

            for (let i = 0; i < LOGIN_MAX_FAILURES; ++i) {
                expect((await attempt(`wrong-token-number-${i}`)).statusCode).to.equal(401);
            }

            const refused = await attempt(TEST_ADMIN_TOKEN);
            expect(refused.statusCode).to.equal(429);
            expect(Number(refused.headers['retry-after'])).to.be.within(1, 900);
            expect(refused.payload).to.contain('Too many wrong tokens from this address');
            expect(cookieValue(refused, 'na_console')).to.be.null();
        }
        finally {
            await t.stop();
        }
    });
});
