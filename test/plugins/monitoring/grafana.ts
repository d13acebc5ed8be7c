import Fs from 'node:fs';
import Path from 'node:path';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { isPostgres } from '../../helpers/database';
import { adminHeaders, createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const DASHBOARD = Path.join(__dirname, '..', '..', '..', 'docs', 'grafana', 'neo-alexandria.json');

/** Every na_* metric a dashboard query names, with histogram series suffixes taken off. */
function referencedMetrics(dashboard: any): string[] {

    const names = new Set<string>();
    for (const panel of dashboard.panels) {
        for (const target of panel.targets) {
            for (const [name] of String(target.expr).matchAll(/\bna_[a-z0-9_]+/g)) {
                names.add(name.replace(/_(bucket|sum|count)$/, ''));
            }
        }
    }

    return [...names].sort();
}

describe('monitoring: the Grafana dashboard in docs/', () => {

    let t: TestServer;

    before(async () => {

        t = await createTestServer();
    });

    after(async () => {

        await t.stop();
    });

    it('is valid dashboard JSON whose every query names a metric /metrics exports', async () => {

        const dashboard = JSON.parse(Fs.readFileSync(DASHBOARD, 'utf8'));
        expect(dashboard.uid).to.equal('neo-alexandria');
        expect(Number(dashboard.panels.length)).to.be.at.least(8);
        const names = referencedMetrics(dashboard);
        expect(names.length).to.be.at.least(15);

        await t.server.inject('/health');
        const res = await t.server.inject({ url: '/metrics', headers: adminHeaders });
        expect(res.statusCode).to.equal(200);
        const exported = new Set([...res.payload.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]));
        const otherDialect = isPostgres ? 'na_sqlite_' : 'na_pg_';
        const missing = names.filter((name) => !name.startsWith(otherDialect) && !exported.has(name));
        expect(missing, 'dashboard metrics /metrics does not export').to.equal([]);
        // Both dialects' own figures are charted.
        expect(names.some((name) => name.startsWith('na_pg_'))).to.be.true();
        expect(names.some((name) => name.startsWith('na_sqlite_'))).to.be.true();
    });
});
