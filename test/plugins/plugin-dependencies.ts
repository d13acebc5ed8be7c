// Every plugin names the plugins it uses in its hapi `dependencies`, so a
// manifest that leaves one out fails at start, not at the first request.

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import * as Api from '../../plugins/api';
import * as Console from '../../plugins/console';
import * as Monitoring from '../../plugins/monitoring';
import { forDialect } from '../../server/db/url';
import { createTestServer } from '../helpers/server';

export const lab = Lab.script();
const { describe, it } = lab;

describe('plugin dependencies', () => {

    it('registers the fts plugin of the database\'s dialect under search, which api and console depend on', async () => {

        const t = await createTestServer();
        try {
            const registered = Object.keys(t.server.registrations);
            const fts = forDialect(t.config.database.type, { postgres: 'fts-postgres', sqlite: 'fts-sqlite' });
            const other = forDialect(t.config.database.type, { postgres: 'fts-sqlite', sqlite: 'fts-postgres' });
            expect(registered).to.include(['search', fts]);
            expect(registered).to.not.include(other);
            expect(t.server.search).to.exist();
        }
        finally {
            await t.stop();
        }

        expect(Api.plugin.dependencies).to.include(['search']);
        expect(Console.plugin.dependencies).to.include(['admin-auth', 'search']);
        expect(Monitoring.plugin.dependencies).to.include(['admin-auth']);
    });
});
