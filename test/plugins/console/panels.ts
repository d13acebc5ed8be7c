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
        const t = await createConsoleServer({ plugins: [probePlugin({ tickerRequests: 0, notes: [] }), late] });
        try {
            const panels = (t.server.plugins as any).console.panels() as ConsolePanel[];
            expect(panels.map((panel) => panel.id)).to.equal(['overview', 'pool', 'search', 'probe', 'ticker']);
            expect(panels[1]).to.equal({ id: 'pool', title: 'Pool', order: 10, path: '/console/panels/pool', refreshSeconds: 2 });
        }
        finally {
            await t.stop();
        }
    });

    it('refuses to start when a panel breaks the contract, naming the plugin', async () => {

        const cases: Array<[Plugin<any>[], RegExp]> = [
            [[panelPlugin('bad-id', [{ id: 'Bad Id', title: 'x', order: 1, path: '/console/panels/bad' }])], /"bad-id" exposes an invalid console panel: "id" with value "Bad Id" fails to match/],
            [[panelPlugin('reserved', [{ id: 'login', title: 'x', order: 1, path: '/console/panels/login' }])], /"reserved" exposes an invalid console panel: "id" contains an invalid value/],
            [[panelPlugin('no-title', [{ id: 'untitled', order: 1, path: '/console/panels/untitled' }])], /"title" is required/],
            [[panelPlugin('outside', [{ id: 'outside', title: 'x', order: 1, path: '/admin/outside' }])], /"path"/],
            [[panelPlugin('typo', [{ id: 'typo', title: 'x', order: 1, path: '/console/panels/typo', refreshSecond: 2 }])], /"refreshSecond" is not allowed/],
            [[panelPlugin('not-array', { id: 'x' }, ADMIN_STRATEGY, [])], /"not-array" exposes consolePanels that is not an array/],
            [[panelPlugin('no-route', [{ id: 'ghost', title: 'x', order: 1, path: '/console/panels/ghost' }], ADMIN_STRATEGY, [])], /GET \/console\/panels\/ghost must be a route with auth: 'admin'/],
            [[panelPlugin('open-route', [{ id: 'open', title: 'x', order: 1, path: '/console/panels/open' }], false)], /"open" of plugin "open-route"/],
            [[panelPlugin('try-route', [{ id: 'try', title: 'x', order: 1, path: '/console/panels/try' }], { strategy: ADMIN_STRATEGY, mode: 'try' })], /"try" of plugin "try-route": GET/],
            [[
                panelPlugin('first', [{ id: 'same', title: 'x', order: 1, path: '/console/panels/same-a' }]),
                panelPlugin('second', [{ id: 'same', title: 'y', order: 2, path: '/console/panels/same-b' }])
            ], /"same" is exposed by both "first" and "second"/]
        ];

        for (const [plugins, message] of cases) {
            const error = await startFailure(plugins);
            expect(error.message, message.source).to.match(message);
        }
    });
});
