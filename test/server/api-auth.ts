import { execFile } from 'node:child_process';
import Path from 'node:path';
import { promisify } from 'node:util';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { loadConfig } from '../../server/config';
import { apiAuthWarning } from '../../server/index';
import { createApiToken, revokeApiToken, verifyApiToken, LAST_USED_RESOLUTION_MS } from '../../server/security/api-tokens';
import { sha256 } from '../../server/security/secrets';
import { adminHeaders, TEST_SESSION_SECRET, type TestServer } from '../helpers/server';
import { createConsoleServer, loginSession } from '../plugins/console/helpers';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const run = promisify(execFile);
const root = Path.resolve(__dirname, '..', '..');

const resource = { title: 'Written with a token' };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('API_AUTH and API tokens', () => {

    describe('API_AUTH=writes', () => {

        let t: TestServer;
        let token: string;

        before(async () => {

            t = await createConsoleServer({ env: { API_AUTH: 'writes' } });
            token = (await createApiToken(t.server.knex, 'importer')).secret;
        });

        after(async () => {

            await t.stop();
        });

        it('lets anyone read but only token holders write', async () => {

            expect((await t.server.inject('/resources')).statusCode).to.equal(200);
            expect((await t.server.inject('/health')).statusCode).to.equal(200);

            const anonymous = await t.server.inject({ method: 'POST', url: '/resources', payload: resource });
            expect(anonymous.statusCode).to.equal(401);
            expect(JSON.parse(anonymous.payload).message).to.contain('API token required (API_AUTH=writes)');
            expect(anonymous.headers['www-authenticate']).to.contain('Bearer');

            const wrong = await t.server.inject({ method: 'POST', url: '/resources', payload: resource, headers: bearer('na_' + 'x'.repeat(43)) });
            expect(wrong.statusCode).to.equal(401);
            expect(JSON.parse(wrong.payload).message).to.equal('Invalid or revoked API token');

            const created = await t.server.inject({ method: 'POST', url: '/resources', payload: resource, headers: bearer(token) });
            expect(created.statusCode).to.equal(201);
            // The admin token is accepted too.
            expect((await t.server.inject({ method: 'POST', url: '/resources', payload: resource, headers: adminHeaders })).statusCode).to.equal(201);
        });

        it('stores only a digest of each token and records its last use at most once a minute', async () => {

            const rows = await t.server.knex('api_tokens').select('*').where('name', 'importer');
            expect(rows).to.have.length(1);
            expect(JSON.stringify(rows)).to.not.contain(token.slice(3));
            expect(rows[0].token_hash).to.equal(sha256(token, 'hex'));
            expect(rows[0].hint).to.equal(token.slice(0, 7));
            const firstUse = rows[0].last_used_at;
            expect(Date.parse(firstUse)).to.be.within(Date.now() - 60_000, Date.now() + 1000);

            await t.server.inject({ method: 'POST', url: '/resources', payload: resource, headers: bearer(token) });
            expect((await t.server.knex('api_tokens').first('last_used_at').where('name', 'importer')).last_used_at).to.equal(firstUse);

            const later = Date.now() + LAST_USED_RESOLUTION_MS + 1000;
            await verifyApiToken(t.server.knex, token, later);
            expect(Date.parse((await t.server.knex('api_tokens').first('last_used_at').where('name', 'importer')).last_used_at)).to.equal(later);
        });

        it('refuses a revoked token at once', async () => {

            const { secret } = await createApiToken(t.server.knex, 'short-lived');
            expect((await t.server.inject({ method: 'DELETE', url: '/resources/00000000-0000-4000-8000-000000000000', headers: bearer(secret) })).statusCode).to.equal(404);
            await revokeApiToken(t.server.knex, 'short-lived');
            const refused = await t.server.inject({ method: 'DELETE', url: '/resources/00000000-0000-4000-8000-000000000000', headers: bearer(secret) });
            expect(refused.statusCode).to.equal(401);
            // The name is free again.
            expect((await createApiToken(t.server.knex, 'short-lived')).token.name).to.equal('short-lived');
            await expect(createApiToken(t.server.knex, 'short-lived')).to.reject(/already exists/);
            await expect(createApiToken(t.server.knex, ' ')).to.reject(/1–100 characters/);
            await expect(revokeApiToken(t.server.knex, 'no-such-token')).to.reject(/no active API token named "no-such-token"/);
        });

        it('throttles token guessing on the data API with the same counters', async () => {

            const codes: number[] = [];
            for (let i = 0; i < 11; ++i) {
                codes.push((await t.server.inject({ method: 'POST', url: '/resources', payload: resource, headers: bearer(`na_guess${i}`), remoteAddress: '198.51.100.90' })).statusCode);
            }

            expect(codes.slice(0, 10).every((code) => code === 401)).to.be.true();
            expect(codes[10]).to.equal(429);
            const owner = await t.server.inject({ method: 'POST', url: '/resources', payload: resource, headers: bearer(token), remoteAddress: '198.51.100.91' });
            expect(owner.statusCode).to.equal(201);
        });

        it('declares the security scheme in the OpenAPI document, on the routes that need it', async () => {

            const spec = JSON.parse((await t.server.inject('/openapi.json')).payload);
            expect(spec.components.securitySchemes.apiToken).to.include({ type: 'http', scheme: 'bearer' });
            // An API token, or the admin token in the same header.
            expect(spec.paths['/resources'].post.security).to.equal([{ apiToken: [] }, { adminToken: [] }]);
            expect(spec.paths['/resources'].get.security).to.equal([]);
            expect(spec.paths['/health'].get.security).to.equal([]);
        });

        it('lets an admin create and revoke tokens in the console, showing a new token once', async () => {

            const login = await loginSession(t.server);
            const headers = { cookie: login.cookie, 'x-csrf-token': login.crumb, 'hx-request': 'true' };
            const created = await t.server.inject({ method: 'POST', url: '/console/panels/api-tokens/create', headers, payload: { name: 'from-the-console' } });
            expect(created.statusCode).to.equal(200);
            expect(created.headers['cache-control']).to.equal('no-store');
            const secret = /<pre class="output">(na_[\w-]{43})<\/pre>/.exec(created.payload)![1]!;
            expect((await t.server.inject({ method: 'POST', url: '/resources', payload: resource, headers: bearer(secret) })).statusCode).to.equal(201);

            const listed = await t.server.inject({ url: '/console/panels/api-tokens', headers });
            expect(listed.payload).to.contain('from-the-console');
            expect(listed.payload).to.not.contain(secret);

            const duplicate = await t.server.inject({ method: 'POST', url: '/console/panels/api-tokens/create', headers, payload: { name: 'from-the-console' } });
            expect(duplicate.statusCode).to.equal(409);

            const { id } = await t.server.knex('api_tokens').first('id').where('name', 'from-the-console').whereNull('revoked_at');
            const forged = await t.server.inject({ method: 'POST', url: '/console/panels/api-tokens/revoke', headers: { cookie: login.cookie, 'hx-request': 'true' }, payload: { id } });
            expect(forged.statusCode).to.equal(403);
            const revoked = await t.server.inject({ method: 'POST', url: '/console/panels/api-tokens/revoke', headers, payload: { id } });
            expect(revoked.statusCode).to.equal(200);
            expect(revoked.payload).to.contain('it is refused from now on');
            expect((await t.server.inject({ method: 'POST', url: '/resources', payload: resource, headers: bearer(secret) })).statusCode).to.equal(401);
        });
    });

    describe('API_AUTH=all and off', () => {

        it('all: every data route needs a token, except /health and the documentation', async () => {

            const t = await createConsoleServer({ env: { API_AUTH: 'all' } });
            try {
                const { secret } = await createApiToken(t.server.knex, 'reader');
                expect((await t.server.inject('/resources')).statusCode).to.equal(401);
                expect((await t.server.inject('/search?q=history')).statusCode).to.equal(401);
                expect((await t.server.inject({ url: '/resources', headers: bearer(secret) })).statusCode).to.equal(200);
                expect((await t.server.inject('/health')).statusCode).to.equal(200);
                expect((await t.server.inject('/documentation')).statusCode).to.equal(200);
                const spec = JSON.parse((await t.server.inject('/openapi.json')).payload);
                expect(spec.paths['/resources'].get.security).to.equal([{ apiToken: [] }, { adminToken: [] }]);
            }
            finally {
                await t.stop();
            }
        });

        it('off (the default): the data API needs no token', async () => {

            const t = await createConsoleServer();
            try {
                expect(t.config.auth.apiAuth).to.equal('off');
                expect((await t.server.inject({ method: 'POST', url: '/resources', payload: resource })).statusCode).to.equal(201);
            }
            finally {
                await t.stop();
            }
        });
    });

    it('warns at start-up about an open data API only in production on a non-loopback HOST', () => {

        const production = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'production', SESSION_SECRET: TEST_SESSION_SECRET, ...env });
        expect(apiAuthWarning(production({ HOST: '0.0.0.0' }))).to.match(/^WARNING: the data API is open to anyone who can reach 0\.0\.0\.0:3000: API_AUTH=off/);
        expect(apiAuthWarning(production({ HOST: 'library.example.org' }))).to.contain('Set API_AUTH=writes');
        expect(apiAuthWarning(production({ HOST: 'localhost' }))).to.be.null();
        expect(apiAuthWarning(production({ HOST: '127.0.0.1' }))).to.be.null();
        expect(apiAuthWarning(production({ HOST: '0.0.0.0', API_AUTH: 'writes' }))).to.be.null();
        expect(apiAuthWarning(loadConfig({ HOST: '0.0.0.0' }))).to.be.null();
        expect(() => loadConfig({ API_AUTH: 'sometimes' })).to.throw(/Invalid API_AUTH: must be one of \[off, writes, all\]/);
        expect(() => loadConfig({ NODE_ENV: 'production', API_AUTH: 'writes' })).to.throw(/Invalid SESSION_SECRET: required in production/);
        expect(() => loadConfig({ SESSION_SECRET: 'too-short' })).to.throw(/Invalid SESSION_SECRET: .*32/);
        expect(loadConfig({ NODE_ENV: 'production' }).auth.sessionSecretSource).to.equal('generated');
    });

    it('creates, lists and revokes tokens from the command line', { timeout: 60_000 }, async () => {

        const t = await createConsoleServer();
        try {
            const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'scripts/api-tokens.ts', ...args], {
                cwd: root, env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: t.database.url }
            });

            const created = await cli('create', 'nightly export');
            const secret = created.stdout.trim();
            expect(secret).to.match(/^na_[\w-]{43}$/);
            expect(created.stderr).to.contain('shown only this once');
            expect(await verifyApiToken(t.server.knex, secret)).to.include({ name: 'nightly export' });

            const listed = await cli('list');
            expect(listed.stdout).to.contain('nightly export').and.to.contain(`${secret.slice(0, 7)}…`).and.to.contain('active');
            expect(listed.stdout).to.not.contain(secret);

            expect((await cli('revoke', 'nightly export')).stdout).to.contain('Revoked API token "nightly export"');
            expect(await verifyApiToken(t.server.knex, secret)).to.be.null();
            await expect(cli('revoke', 'nightly export')).to.reject(/no active API token named "nightly export"/);
            const usage = await cli('frobnicate').catch((error) => error);
            expect(usage.code).to.equal(2);
            expect(usage.stderr).to.contain('usage: npm run api-tokens');
        }
        finally {
            await t.stop();
        }
    });
});
