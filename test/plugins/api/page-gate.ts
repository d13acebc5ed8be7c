// The page gate: at most N list/search pages are built at once; the others
// wait (bounded), other routes never do.

import { expect } from '@hapi/code';
import Hapi from '@hapi/hapi';
import * as Lab from '@hapi/lab';

import { createPageGate } from '../../../plugins/api/page-gate';

export const lab = Lab.script();
const { describe, it } = lab;

describe('api: page gate', () => {

    const gated = () => {

        const server = Hapi.server();
        const gate = createPageGate(1, 200);
        const releases: Array<() => void> = [];
        server.ext('onPreHandler', gate.enter);
        server.events.on('response', (request) => gate.leave(request));
        const held = () => new Promise<string>((resolve) => releases.push(() => resolve('page')));
        server.route([
            { method: 'GET', path: '/resources', handler: held },
            { method: 'GET', path: '/search', handler: () => 'search' },
            { method: 'GET', path: '/health', handler: () => 'ok' }
        ]);
        return { server, gate, releases };
    };

    it('builds one page at a time, lets other routes through, and frees the slot once answered', async () => {

        const { server, gate, releases } = gated();
        const first = server.inject('/resources');
        await new Promise((resolve) => setTimeout(resolve, 20));
        const second = server.inject('/search');
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(gate.active).to.equal(1);
        expect(gate.waiting).to.equal(1);
        expect((await server.inject('/health')).payload).to.equal('ok');

        releases[0]!();
        expect((await first).payload).to.equal('page');
        expect((await second).payload).to.equal('search');
        expect(gate.active).to.equal(0);
        expect(gate.waiting).to.equal(0);
    });

    it('answers 503 with Retry-After when the wait runs out', async () => {

        const { server, gate, releases } = gated();
        const first = server.inject('/resources');
        await new Promise((resolve) => setTimeout(resolve, 20));
        const late = await server.inject('/search');
        expect(late.statusCode).to.equal(503);
        expect(late.headers['retry-after']).to.equal('2');
        expect(gate.waiting).to.equal(0);
        releases[0]!();
        await first;
        expect(gate.active).to.equal(0);
    });
});
