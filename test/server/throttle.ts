import { expect } from '@hapi/code';
import type { Server, ServerInjectOptions, ServerInjectResponse } from '@hapi/hapi';
import * as Lab from '@hapi/lab';

import { ADMIN_STRATEGY } from '../../server/auth';
import { MAX_FAILURES } from '../../server/security/throttle';
import { createDeployment, type Deployment } from '../helpers/deployment';
import { TEST_ADMIN_TOKEN } from '../helpers/server';
import { cookieValue } from '../plugins/console/helpers';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

// A JSON ops route like every plugin's: auth ADMIN_STRATEGY, nothing else.
async function withOpsRoute(server: Server): Promise<Server> {

    if (!server.match('GET', '/ops/test-ping')) {
        server.route({ method: 'GET', path: '/ops/test-ping', options: { auth: ADMIN_STRATEGY, handler: () => ({ ok: true }) } });
    }

    return server;
}

/** A browser at one address: it keeps the cookies the server sets (CSRF, device). */
function browser(server: Server, remoteAddress: string, headers: Record<string, string> = {}) {

    const jar = new Map<string, string>();
    const keep = (res: ServerInjectResponse) => {

        for (const name of ['crumb', 'na_device', 'na_console']) {
            const value = cookieValue(res, name);
            if (value) {
                jar.set(name, value);
            }
        }

        return res;
    };

    const cookie = () => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const inject = async (options: ServerInjectOptions) => keep(await server.inject({ ...options, remoteAddress, headers: { ...headers, ...(options.headers ?? {}), cookie: cookie() } }));

    return {
        jar,
        async login(token: string) {

            await inject({ url: '/console/login' });
            return await inject({ method: 'POST', url: '/console/login', payload: { token, crumb: jar.get('crumb') } });
        },
        bearer(token: string) {

            return inject({ url: '/ops/test-ping', headers: { authorization: `Bearer ${token}` } });
        }
    };
}

describe('throttle: wrong credentials are counted in the database, the owner is not locked out', () => {

    let deployment: Deployment;

    before(async () => {

        deployment = await createDeployment();
    });

    after(async () => {

        await deployment.stop();
    });

    it('accepts the correct console token after 10 wrong ones from the same address, from a known device or a new one', async () => {

        const server = await deployment.instance();
        const owner = browser(server, '198.51.100.10');
        expect((await owner.login(TEST_ADMIN_TOKEN)).statusCode).to.equal(303);
        expect(owner.jar.get('na_device')).to.match(/^[\w-]{22}\.[\w-]{43}$/);

        const attacker = browser(server, '198.51.100.10');
        for (let i = 0; i < MAX_FAILURES; ++i) {
            expect((await attacker.login(`wrong-token-number-${i}`)).statusCode).to.equal(401);
        }

        const locked = await attacker.login('wrong-token-once-more');
        expect(locked.statusCode).to.equal(429);
        expect(Number(locked.headers['retry-after'])).to.be.within(1, 900);
        expect(locked.payload).to.contain('Too many wrong tokens from this address');

        // The owner's browser has its own budget: the correct token goes through.
        const again = await owner.login(TEST_ADMIN_TOKEN);
        expect(again.statusCode).to.equal(303);
        expect(cookieValue(again, 'na_console')).to.not.be.null();

        // A first-time browser behind the same address: the correct token is
        // checked before the throttle, so it goes through too; a wrong one is 429.
        const stranger = browser(server, '198.51.100.10');
        const accepted = await stranger.login(TEST_ADMIN_TOKEN);
        expect(accepted.statusCode).to.equal(303);
        expect(cookieValue(accepted, 'na_console')).to.not.be.null();
        expect((await browser(server, '198.51.100.10').login('still-guessing-here')).statusCode).to.equal(429);
    });

    it('throttles bearer-token guessing on the ops routes with the same counters', async () => {

        const server = await withOpsRoute(await deployment.instance());
        const script = browser(server, '198.51.100.20');
        expect((await script.bearer(TEST_ADMIN_TOKEN)).statusCode).to.equal(200);

        const guesser = browser(server, '198.51.100.20');
        for (let i = 0; i < MAX_FAILURES; ++i) {
            expect((await guesser.bearer(`wrong-token-number-${i}`)).statusCode).to.equal(401);
        }

        const locked = await guesser.bearer('wrong-token-once-more');
        expect(locked.statusCode).to.equal(429);
        expect(Number(locked.headers['retry-after'])).to.be.within(1, 900);
        expect(JSON.parse(locked.payload).message).to.contain('Too many wrong tokens');
        // The correct token is never refused for someone else's guesses, with or without cookies.
        expect((await guesser.bearer(TEST_ADMIN_TOKEN)).statusCode).to.equal(200);
        expect((await script.bearer(TEST_ADMIN_TOKEN)).statusCode).to.equal(200);
        expect((await browser(server, '198.51.100.20').bearer(TEST_ADMIN_TOKEN)).statusCode).to.equal(200);

        // A wrong login on the console form from the same address is refused too: one throttle.
        expect((await browser(server, '198.51.100.20').login('wrong-on-the-form')).statusCode).to.equal(429);
    });

    it('answers no more than 10 wrong guesses per address, however many arrive at once', async () => {

        const server = await withOpsRoute(await deployment.instance());
        const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => browser(server, '198.51.100.30').bearer(`parallel-guess-${i}`)));
        const codes = responses.map((res) => res.statusCode);
        expect(codes.filter((code) => code === 401).length).to.equal(MAX_FAILURES);
        expect(codes.filter((code) => code === 429).length).to.equal(40 - MAX_FAILURES);
    });

    it('shares one budget between instances, even for guesses arriving at both at once', async () => {

        const a = await withOpsRoute(await deployment.instance());
        const b = await withOpsRoute(await deployment.instance());
        const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => browser(i % 2 ? a : b, '198.51.100.35').bearer(`split-guess-${i}`)));
        const codes = responses.map((res) => res.statusCode);
        expect(codes.filter((code) => code === 401).length).to.equal(MAX_FAILURES);
        expect(codes.filter((code) => code === 429).length).to.equal(40 - MAX_FAILURES);
    });

    it('counts failures across instances (and the owner\'s device on another instance)', async () => {

        const a = await withOpsRoute(await deployment.instance());
        const b = await withOpsRoute(await deployment.instance());
        const owner = browser(a, '198.51.100.40');
        expect((await owner.bearer(TEST_ADMIN_TOKEN)).statusCode).to.equal(200);

        for (let i = 0; i < MAX_FAILURES; ++i) {
            const instance = i % 2 ? a : b;
            expect((await browser(instance, '198.51.100.40').bearer(`wrong-${i}`)).statusCode).to.equal(401);
        }

        expect((await browser(a, '198.51.100.40').bearer('wrong-again')).statusCode).to.equal(429);
        expect((await browser(b, '198.51.100.40').bearer('wrong-again')).statusCode).to.equal(429);
        // The device cookie A issued is valid on B (same SESSION_SECRET).
        const onB = browser(b, '198.51.100.40');
        onB.jar.set('na_device', owner.jar.get('na_device')!);
        expect((await onB.bearer(TEST_ADMIN_TOKEN)).statusCode).to.equal(200);
    });

    it('gives a device its own budget, after which it counts under its address again', async () => {

        const server = await withOpsRoute(await deployment.instance());
        const device = browser(server, '198.51.100.50');
        expect((await device.bearer(TEST_ADMIN_TOKEN)).statusCode).to.equal(200);

        // A device cannot buy unlimited guesses: its budget, then its address's.
        const codes: number[] = [];
        for (let i = 0; i < 2 * MAX_FAILURES + 1; ++i) {
            codes.push((await device.bearer(`device-guess-${i}`)).statusCode);
        }

        expect(codes.slice(0, 2 * MAX_FAILURES).every((code) => code === 401)).to.be.true();
        expect(codes[2 * MAX_FAILURES]).to.equal(429);
        expect((await device.bearer('device-guess-again')).statusCode).to.equal(429);
        // A forged device cookie is no device: it buys no budget of its own.
        const forger = browser(server, '198.51.100.50');
        forger.jar.set('na_device', `${'A'.repeat(22)}.${'B'.repeat(43)}`);
        expect((await forger.bearer('forged-guess')).statusCode).to.equal(429);
        // And the owner's correct token still works.
        expect((await device.bearer(TEST_ADMIN_TOKEN)).statusCode).to.equal(200);
    });

    it('counts clients behind a trusted proxy by their forwarded address, and ignores forwarded headers from anyone else', async () => {

        const server = await withOpsRoute(await deployment.instance({ TRUST_PROXY: '10.0.0.0/8, loopback' }));
        const viaProxy = (client: string) => browser(server, '10.0.0.2', { 'x-forwarded-for': `${client}, 10.0.0.7` });

        for (let i = 0; i < MAX_FAILURES; ++i) {
            expect((await viaProxy('203.0.113.66').bearer(`wrong-${i}`)).statusCode).to.equal(401);
        }

        expect((await viaProxy('203.0.113.66').bearer('wrong-once-more')).statusCode).to.equal(429);
        // Another client behind the same proxy is not locked out by the first one's guesses.
        expect((await viaProxy('203.0.113.77').bearer(TEST_ADMIN_TOKEN)).statusCode).to.equal(200);
        expect((await viaProxy('203.0.113.77').login(TEST_ADMIN_TOKEN)).statusCode).to.equal(303);

        // A client talking to the server directly cannot pick its address with the header.
        const codes: number[] = [];
        for (let i = 0; i <= MAX_FAILURES; ++i) {
            codes.push((await browser(server, '198.51.100.60', { 'x-forwarded-for': `192.0.2.${i}` }).bearer(`spoofed-${i}`)).statusCode);
        }

        expect(codes.slice(0, MAX_FAILURES).every((code) => code === 401)).to.be.true();
        expect(codes[MAX_FAILURES]).to.equal(429);
        const rows = await server.knex('auth_failures').select('subject').whereLike('subject', 'address:192.0.2.%');
        expect(rows).to.equal([]);
    });
});
