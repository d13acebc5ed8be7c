import { expect } from '@hapi/code';
import type { Plugin } from '@hapi/hapi';
import * as Lab from '@hapi/lab';

import { ADMIN_STRATEGY } from '../../../server/auth';
import { CONSOLE_PANELS, type ConsolePanel } from '../../../server/console/panel';
import { PanelContractError } from '../../../plugins/console';
import { probePlugin } from '../../browser/probe-panel';
import { createConsoleServer } from './helpers';

export const lab = Lab.script();
const { describe, it } = lab;

/** A plugin exposing `panels`, with a GET route for each path using `auth`. */
function panelPlugin(name: string, panels: unknown, auth: unknown = ADMIN_STRATEGY, paths?: string[]): Plugin<void> {

    return {
        name,
        register(server) {

            const routes = paths ?? (Array.isArray(panels) ? panels.map((panel: Partial<ConsolePanel>) => panel.path).filter((path): path is string => typeof path === 'string') : []);
            for (const path of routes) {
                server.route({ method: 'GET', path, options: { auth: auth as any, handler: () => 'fragment' } });
            }

            server.expose(CONSOLE_PANELS, panels);
        }
    };
}

async function startFailure(plugins: Array<Plugin<any>>): Promise<Error> {

    const t = await createConsoleServer({ plugins, initialize: false });
    try {
        const error = await t.server.initialize().then(() => null, (failure: Error) => failure);
        expect(error).to.be.an.instanceof(PanelContractError);
        return error!;
    }
    finally {
        await t.server.db.destroy();
        await t.database.cleanup();
    }
}

describe('console: panel collection', () => {

    it('collects every exposed panel at start, in navigation order, whatever the plugin order', async () => {

        const late = panelPlugin('late-plugin', [{ id: 'pool', title: 'Pool', order: 10, path: '/console/panels/pool', refreshSeconds: 2 }]);
        // The late plugin stands in for monitoring's Pool panel, so the real one stays off.
        const t = await createConsoleServer({ env: { ENABLE_MONITORING: '0' }, plugins: [probePlugin({ tickerRequests: 0, notes: [] }), late] });
        try {
            const panels = (t.server.plugins as any).console.panels() as ConsolePanel[];
            expect(panels.map((panel) => panel.id)).to.equal(['overview', 'pool', 'schema-migrations', 'data-migration', 'backups', 'search', 'api-tokens', 'probe', 'ticker', 'hourly']);
            expect(panels[1]).to.equal({ id: 'pool', title: 'Pool', order: 10, path: '/console/panels/pool', refreshSeconds: 2 });
        }
        finally {
            await t.stop();
        }
    });

    const cases: Array<[string, () => Plugin<any>[], RegExp]> = [
        ['an id with spaces', () => [panelPlugin('bad-id', [{ id: 'Bad Id', title: 'x', order: 1, path: '/console/panels/bad' }])], /"bad-id" exposes an invalid console panel: "id" with value "Bad Id" fails to match/],
        ['a reserved id', () => [panelPlugin('reserved', [{ id: 'login', title: 'x', order: 1, path: '/console/panels/login' }])], /"reserved" exposes an invalid console panel: "id" contains an invalid value/],
        ['a missing title', () => [panelPlugin('no-title', [{ id: 'untitled', order: 1, path: '/console/panels/untitled' }])], /"title" is required/],
        ['a path outside /console/panels/', () => [panelPlugin('outside', [{ id: 'outside', title: 'x', order: 1, path: '/admin/outside' }])], /"path"/],
        ['an unknown key (a typo)', () => [panelPlugin('typo', [{ id: 'typo', title: 'x', order: 1, path: '/console/panels/typo', refreshSecond: 2 }])], /"refreshSecond" is not allowed/],
        ['panels that are not an array', () => [panelPlugin('not-array', { id: 'x' }, ADMIN_STRATEGY, [])], /"not-array" exposes consolePanels that is not an array/],
        ['a path without a route', () => [panelPlugin('no-route', [{ id: 'ghost', title: 'x', order: 1, path: '/console/panels/ghost' }], ADMIN_STRATEGY, [])], /GET \/console\/panels\/ghost must be a route with auth: 'admin'/],
        ['a route without auth', () => [panelPlugin('open-route', [{ id: 'open', title: 'x', order: 1, path: '/console/panels/open' }], false)], /"open" of plugin "open-route"/],
        ['a route with optional auth', () => [panelPlugin('try-route', [{ id: 'try', title: 'x', order: 1, path: '/console/panels/try' }], { strategy: ADMIN_STRATEGY, mode: 'try' })], /"try" of plugin "try-route": GET/],
        ['the same id from two plugins', () => [
            panelPlugin('first', [{ id: 'same', title: 'x', order: 1, path: '/console/panels/same-a' }]),
            panelPlugin('second', [{ id: 'same', title: 'y', order: 2, path: '/console/panels/same-b' }])
        ], /"same" is exposed by both "first" and "second"/]
    ];

    for (const [name, plugins, message] of cases) {
        it(`refuses to start with ${name}, naming the plugin`, async () => {

            const error = await startFailure(plugins());
            expect(error.message).to.match(message);
        });
    }
});
