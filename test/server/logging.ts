import Net from 'node:net';
import { Writable } from 'node:stream';
import { expect } from '@hapi/code';
import Hapi from '@hapi/hapi';
import * as Lab from '@hapi/lab';
import HapiPino from 'hapi-pino';
import { KnexTimeoutError } from 'knex';

import { loadConfig } from '../../server/config';
import { core } from '../../server/core';
import { loggingOptions } from '../../server/logging';
import { createTestServer } from '../helpers/server';

export const lab = Lab.script();
const { describe, it } = lab;

async function loggingServer() {

    const lines: Array<Record<string, any>> = [];
    const stream = new Writable({
        write(chunk, _encoding, done) {

            for (const line of String(chunk).split('\n').filter(Boolean)) {
                lines.push(JSON.parse(line));
            }

            done();
        }
    });

    const config = loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'info' });
    const server = Hapi.server();
    await server.register([{ plugin: HapiPino, options: { ...loggingOptions(config), stream } }, { plugin: core, options: { config } }]);
    server.route([
        {
            method: 'GET',
            path: '/work',
            handler: (request) => {

                request.log(['db', 'slow-query', 'warn'], { msg: 'Slow query', duration_ms: 1200 });
                request.log(['info'], 'plain text');
                return 'ok';
            }
        },
        {
            method: 'GET',
            path: '/fail',
            handler: () => {

                throw new Error('boom');
            }
        }
    ]);
    await server.initialize();
    return { server, lines };
}

describe('logging', () => {

    it('writes JSON lines that all carry the request id, which the response echoes', async () => {

        const { server, lines } = await loggingServer();
        const res = await server.inject('/work');
        await server.stop();

        const id = res.headers['x-request-id'] as string;
        expect(id).to.equal(res.request.info.id);
        const requestLines = lines.filter((line) => line.req_id !== undefined || line.msg?.includes('/work'));
        expect(requestLines).to.have.length(3);
        for (const line of requestLines) {
            expect(line.req_id).to.equal(id);
        }

        const warning = requestLines.find((line) => line.tags?.includes('slow-query'))!;
        expect(warning.level).to.equal(40);
        expect(warning.duration_ms).to.equal(1200);
        expect(warning.msg).to.equal('Slow query');
        expect(requestLines.find((line) => line.responseTime !== undefined)!.msg).to.equal(`GET /work 200 (${requestLines.find((line) => line.responseTime !== undefined)!.responseTime} ms)`);
    });

    it('uses a valid X-Request-Id from the client and replaces an invalid one', async () => {

        const { server, lines } = await loggingServer();
        const given = await server.inject({ url: '/work', headers: { 'x-request-id': 'edge-proxy.42:abc' } });
        const invalid = await server.inject({ url: '/work', headers: { 'x-request-id': 'has spaces\nand a newline' } });
        const tooLong = await server.inject({ url: '/work', headers: { 'x-request-id': 'a'.repeat(129) } });
        await server.stop();

        expect(given.headers['x-request-id']).to.equal('edge-proxy.42:abc');
        expect(lines.filter((line) => line.req_id === 'edge-proxy.42:abc')).to.have.length(3);
        expect(invalid.headers['x-request-id']).to.equal(invalid.request.info.id);
        expect(tooLong.headers['x-request-id']).to.equal(tooLong.request.info.id);
    });

    it('echoes the request id on error responses too', async () => {

        const { server, lines } = await loggingServer();
        const res = await server.inject({ url: '/fail', headers: { 'x-request-id': 'failing-1' } });
        await server.stop();

        expect(res.statusCode).to.equal(500);
        expect(res.headers['x-request-id']).to.equal('failing-1');
        expect(lines.filter((line) => line.req_id === 'failing-1').length).to.be.at.least(2);
    });
});

describe('logging: request lines and formats', () => {

    /** A stream that collects what is written, and may pass for a terminal. */
    const output = (isTTY: boolean) => {

        const chunks: string[] = [];
        const stream = Object.assign(new Writable({
            write(chunk, _encoding, done) {

                chunks.push(String(chunk));
                done();
            }
        }), { isTTY });
        return { stream, text: () => chunks.join('') };
    };

    const serve = async (env: Record<string, string>, isTTY: boolean) => {

        const out = output(isTTY);
        const config = loadConfig({ LOG_LEVEL: 'info', ...env });
        const server = Hapi.server();
        await server.register([{ plugin: HapiPino, options: loggingOptions(config, out.stream) }, { plugin: core, options: { config } }]);
        server.route({ method: 'GET', path: '/work', handler: () => 'ok' });
        await server.initialize();
        await server.inject({ url: '/work', headers: { 'x-request-id': 'req-7', authorization: 'Bearer not-logged', 'user-agent': 'probe/1.0' } });
        await server.stop();
        // pino-pretty writes on the next turn.
        await new Promise((resolve) => setImmediate(resolve));
        return out.text();
    };

    it('logs a finished request as method, path, status, time and request id, without its headers', async () => {

        const text = await serve({ NODE_ENV: 'production' }, false);
        const line = text.split('\n').filter(Boolean).map((entry) => JSON.parse(entry)).find((entry) => entry.req_id === 'req-7')!;
        expect(line.msg).to.equal(`GET /work 200 (${line.responseTime} ms)`);
        expect(line.res).to.equal({ statusCode: 200 });
        expect(line.responseTime).to.be.a.number();
        expect(line.req).to.not.exist();
        expect(text).to.not.contain('user-agent');
        expect(text).to.not.contain('content-type');
        expect(text).to.not.contain('not-logged');
    });

    it('writes readable lines in development on a terminal, JSON otherwise, and what LOG_FORMAT says', async () => {

        // eslint-disable-next-line no-control-regex
        const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');
        const readable = /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: GET \/work 200 \(\d+ ms\) \{"req_id":"req-7"\}$/m;

        expect(plain(await serve({ NODE_ENV: 'development' }, true))).to.match(readable);
        expect(plain(await serve({ NODE_ENV: 'development', LOG_FORMAT: 'pretty' }, false))).to.match(readable);
        for (const [env, isTTY] of [[{ NODE_ENV: 'development' }, false], [{ NODE_ENV: 'production' }, true], [{ NODE_ENV: 'development', LOG_FORMAT: 'json' }, true]] as const) {
            const lines = (await serve(env, isTTY)).split('\n').filter(Boolean);
            expect(lines.length, JSON.stringify(env)).to.be.at.least(1);
            for (const line of lines) {
                expect(JSON.parse(line)).to.be.an.object();
            }
        }
    });

    it('refuses an unknown LOG_FORMAT', () => {

        expect(() => loadConfig({ LOG_FORMAT: 'fancy' })).to.throw('Invalid LOG_FORMAT: must be one of [auto, pretty, json]');
    });
});

describe('logging: malformed requests', () => {

    it('logs a request hapi cannot parse as a warning with its reason, never the bytes the client sent', async () => {

        const { server, lines } = await loggingServer();
        // A listening server (hapi's default: an ephemeral port): the HTTP
        // parser, not inject(), must see the bytes.
        await server.start();
        try {
            const secret = 'Bearer s3cret-token-in-a-huge-request';
            const answer = await new Promise<string>((resolve, reject) => {

                const socket = Net.connect(server.info.port as number, '127.0.0.1', () => {

                    socket.write(`GET /work HTTP/1.1\r\nHost: x\r\nAuthorization: ${secret}\r\nX-Filler: ${'a'.repeat(20_000)}\r\n\r\n`);
                });
                let received = '';
                socket.on('data', (chunk) => (received += String(chunk)));
                socket.on('end', () => resolve(received));
                socket.on('error', reject);
            });

            expect(answer).to.match(/^HTTP\/1\.1 4\d\d /);
            await new Promise((resolve) => setTimeout(resolve, 50));
            const warning = lines.find((line) => line.tags?.includes('malformed-request'));
            expect(warning).to.exist();
            expect(warning!.level).to.equal(40);
            expect(warning!.code).to.equal('HPE_HEADER_OVERFLOW');
            expect(warning!.msg).to.equal('Malformed request from a client: Header overflow');
            expect(lines.filter((line) => line.level >= 50)).to.equal([]);
            const written = JSON.stringify(lines);
            expect(written).to.not.include('s3cret');
            expect(written).to.not.include('rawPacket');
        }
        finally {
            await server.stop();
        }
    });
});

describe('logging: request ids on the whole server', () => {

    it('echoes the request id on API answers, mapped database errors, unknown paths and console replacements', async () => {

        const t = await createTestServer();
        try {
            t.server.route({
                method: 'GET',
                path: '/test/lock-timeout',
                handler: () => {

                    // What the pool throws when no connection comes in time: core maps it to 503.
                    throw new KnexTimeoutError('Knex: Timeout acquiring a connection. The pool is probably full.');
                }
            });

            const cases: Array<[string, number]> = [['/health', 200], ['/test/lock-timeout', 503], ['/no/such/path', 404], ['/console', 302]];
            for (const [url, status] of cases) {
                const res = await t.server.inject({ url, headers: { 'x-request-id': `id-${status}` } });
                expect(res.statusCode, url).to.equal(status);
                expect(res.headers['x-request-id'], url).to.equal(`id-${status}`);
            }
        }
        finally {
            await t.stop();
        }
    });
});
