import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import type { Plugin } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY } from '../../server/auth';
import { documented } from '../../server/openapi';
import { routeSecurity, UndocumentedStrategyError } from '../../server/openapi/security';
import { createTestServer, type TestServer } from '../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const probeSchema = Joi.object({ ok: Joi.boolean().required() }).label('Probe');

// Routes whose auth config differs only in what the document must derive from it.
const probes: Plugin<void> = {
    name: 'openapi-probes',
    register(server) {

        const options = (auth: object | false, method = 'GET') => ({
            tags: ['api', 'probe'],
            description: `Probe ${method}`,
            auth,
            plugins: documented({ responses: { 200: { description: 'ok', schema: probeSchema } } }),
            handler: () => ({ ok: true })
        });

        server.route([
            { method: 'GET', path: '/probe/public', options: options(false) },
            { method: 'GET', path: '/probe/optional', options: options({ strategy: ADMIN_STRATEGY, mode: 'optional' }) },
            { method: 'POST', path: '/probe/admin', options: { ...options({ strategy: ADMIN_STRATEGY }, 'POST'), validate: { payload: Joi.object({ a: Joi.number() }).label('ProbeInput') } } }
        ]);
    }
};

describe('openapi', () => {

    let t: TestServer;
    let document: Record<string, any>;

    before(async () => {

        t = await createTestServer({}, { plugins: [probes] });
        const res = await t.server.inject('/openapi.json');
        expect(res.statusCode).to.equal(200);
        document = JSON.parse(res.payload);
    });

    after(async () => {

        await t.stop();
    });

    it('is OpenAPI 3.0 with Swagger UI at /documentation', async () => {

        expect(document.openapi).to.equal('3.0.0');
        expect(document.servers).to.equal([{ url: '/', description: 'This server' }]);
        const ui = await t.server.inject('/documentation');
        expect(ui.statusCode).to.equal(200);
        expect(ui.payload).to.contain('/openapi.json');
    });

    it('derives each operation\'s security from its route\'s auth config', () => {

        const paths = document.paths;
        expect(paths['/probe/public'].get.security).to.equal([]);
        expect(paths['/probe/optional'].get.security).to.equal([{ adminToken: [] }, { consoleSession: [] }, {}]);
        expect(paths['/probe/admin'].post.security).to.equal([{ adminToken: [] }, { consoleSession: [], consoleCsrf: [] }]);
        expect(paths['/backups'].get.security).to.equal([{ adminToken: [] }, { consoleSession: [] }]);
        expect(paths['/resources'].get.security).to.equal([]);
        expect(Object.keys(document.components.securitySchemes)).to.equal(['adminToken', 'consoleSession', 'consoleCsrf']);
        expect(document.components.securitySchemes.adminToken).to.include({ type: 'http', scheme: 'bearer' });
    });

    it('refuses to describe a strategy it does not know, instead of calling the route public', () => {

        expect(() => routeSecurity({ strategies: ['api-token'], mode: 'required' }, 'get', 'GET /x', { consoleSessions: false })).to.throw(UndocumentedStrategyError, /"api-token".*server\/openapi\/security\.ts/);
    });

    it('adds the error answers a route\'s config implies, with their shapes', () => {

        const admin = document.paths['/probe/admin'].post.responses;
        expect(Object.keys(admin)).to.equal(['200', '400', '401', '403', '413', '415', '500', '503']);
        expect(admin['401']).to.equal({ $ref: '#/components/responses/Unauthorized' });
        expect(Object.keys(document.paths['/probe/public'].get.responses)).to.equal(['200', '500', '503']);
        expect(Object.keys(document.paths['/resources/{id}'].get.responses)).to.equal(['200', '400', '404', '500', '503']);

        const notFound = document.components.schemas.NotFoundError;
        expect(notFound.required).to.equal(['statusCode', 'error', 'message']);
        expect(notFound.properties.statusCode.enum).to.equal([404]);
        expect(document.components.responses.ServiceUnavailable.headers['Retry-After']).to.exist();
    });

    it('names every component schema after its Joi label', () => {

        const names = Object.keys(document.components.schemas);
        expect(names).to.include(['Resource', 'ResourceCreate', 'ResourcePage', 'BackupJob', 'DatabaseReport', 'ProbeInput', 'Probe']);
        expect(names.filter((name) => !/^[A-Z][A-Za-z]*$/.test(name))).to.equal([]);
        expect(document.paths['/resources'].post.requestBody.content['application/json'].schema).to.equal({ $ref: '#/components/schemas/ResourceCreate' });
    });

    it('describes /metrics as Prometheus text and its errors as JSON', () => {

        const responses = document.paths['/metrics'].get.responses;
        expect(Object.keys(responses['200'].content)).to.equal(['text/plain; version=0.0.4']);
        expect(responses['401']).to.equal({ $ref: '#/components/responses/Unauthorized' });
        expect(document.paths['/metrics'].get.description).to.contain('Prometheus');
    });

    it('groups the tags by the plugin that serves them', () => {

        const groups = Object.fromEntries(document['x-tagGroups'].map((group: { name: string; tags: string[] }) => [group.name, group.tags.sort()]));
        expect(groups['api plugin']).to.equal(['annotations', 'collections', 'health', 'resources', 'search', 'taxonomy']);
        expect(groups['backup plugin']).to.equal(['backup']);
        expect(groups['monitoring plugin']).to.equal(['monitoring']);
    });

    it('follows the configuration: a public /metrics, no console session without the console', async () => {

        const other = await createTestServer({ METRICS_PUBLIC: '1', ENABLE_CONSOLE: '0' });
        try {
            const spec = JSON.parse((await other.server.inject('/openapi.json')).payload);
            expect(spec.paths['/metrics'].get.security).to.equal([]);
            expect(Object.keys(spec.paths['/metrics'].get.responses)).to.not.include('401');
            expect(spec.paths['/monitoring/database'].get.security).to.equal([{ adminToken: [] }]);
            expect(Object.keys(spec.components.securitySchemes)).to.equal(['adminToken']);
        }
        finally {
            await other.stop();
        }
    });
});
