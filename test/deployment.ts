import { spawnSync } from 'node:child_process';
import Fs from 'node:fs';
import Path from 'node:path';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { PGBOUNCER_INI, renderIni } from './helpers/pgbouncer';

export const lab = Lab.script();
const { describe, it } = lab;

const ROOT = Path.resolve(__dirname, '..');

/** `docker compose` (v2) or Debian's `docker-compose` (v1), whichever is installed. */
function composeCommand(): string[] | null {

    if (spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0) {
        return ['docker', 'compose'];
    }

    return spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0 ? ['docker-compose'] : null;
}

const compose = composeCommand();

describe('deployment files', () => {

    it('README shows the PgBouncer settings the tests run with', () => {

        const readme = Fs.readFileSync(Path.join(ROOT, 'README.md'), 'utf8');
        const snippet = /## Running several instances[\s\S]*?```ini\n([\s\S]*?)```/.exec(readme)?.[1];
        expect(snippet).to.exist();
        const ini = Fs.readFileSync(PGBOUNCER_INI, 'utf8');
        for (const line of snippet!.split('\n').filter((candidate) => /\S/.test(candidate))) {
            expect(ini.split('\n'), line).to.include(line);
        }
    });

    it('the test helper replaces only the site settings of docs/pgbouncer.ini', () => {

        const ini = Fs.readFileSync(PGBOUNCER_INI, 'utf8');
        const rendered = renderIni(ini, 'host=127.0.0.1 port=5432', { listen_port: 7000, auth_type: 'trust' });
        expect(rendered).to.contain('* = host=127.0.0.1 port=5432\n');
        expect(rendered).to.contain('listen_port = 7000\n');
        expect(rendered).to.contain('auth_type = trust\n');
        expect(rendered).to.contain('pool_mode = transaction\n');
        expect(rendered.split('\n').length).to.equal(ini.split('\n').length + 1);
    });

    it('docker-compose.yml is valid, with PgBouncer and two app instances in the pooled profile', { skip: !compose && !process.env.CI, timeout: 60_000 }, () => {

        expect(compose, 'docker compose or docker-compose must be installed (.ci/run installs docker-compose)').to.exist();
        const [command, ...args] = compose!;
        const env = { ...process.env, POSTGRES_PASSWORD: 'example-only' };
        const plain = spawnSync(command!, [...args, 'config', '--quiet'], { cwd: ROOT, encoding: 'utf8', env });
        expect(plain.status, plain.stderr).to.equal(0);

        const pooled = spawnSync(command!, [...args, '--profile', 'pooled', 'config'], { cwd: ROOT, encoding: 'utf8', env });
        expect(pooled.status, pooled.stderr).to.equal(0);
        expect(pooled.stdout).to.contain('pgbouncer:6432');
        expect(pooled.stdout).to.contain('DATABASE_DIRECT_URL: postgres://neo:example-only@db:5432/neo_alexandria');
        for (const service of ['app-1:', 'app-2:', 'pgbouncer:']) {
            expect(pooled.stdout).to.contain(`  ${service}\n`);
        }
    });
});
