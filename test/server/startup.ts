import { spawn } from 'node:child_process';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import Zlib from 'node:zlib';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { loadConfig } from '../../server/config';
import { migrationStatus } from '../../server/db/migrations';
import { createServer, prepareDatabase, StartupError } from '../../server/index';
import { removeSqliteFiles, tempSqlitePath } from '../helpers/database';

export const lab = Lab.script();
const { describe, it } = lab;

const root = Path.resolve(__dirname, '..', '..');

interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** Runs the server entry point as `npm start` does, with its own environment. */
function runServer(env: Record<string, string>, untilOutput?: RegExp, then?: (child: ReturnType<typeof spawn>, stdout: string) => Promise<void>): Promise<Run> {

    return new Promise((resolve, reject) => {

        const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts'], {
            cwd: root,
            env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'silent', ...env },
            stdio: ['ignore', 'pipe', 'pipe']
        });
        let stdout = '';
        let stderr = '';
        let triggered = false;
        const timer = setTimeout(() => {

            child.kill('SIGKILL');
            reject(new Error(`server did not finish: ${stdout}${stderr}`));
        }, 30_000);

        child.stdout.on('data', (chunk) => {

            stdout += chunk;
            if (untilOutput && !triggered && untilOutput.test(stdout)) {
                triggered = true;
                then!(child, stdout).catch(reject);
            }
        });
        child.stderr.on('data', (chunk) => {

            stderr += chunk;
        });
        child.on('exit', (code) => {

            clearTimeout(timer);
            resolve({ code, stdout, stderr });
        });
    });
}

describe('start-up', () => {

    it('refuses to start in production on an outdated schema and says how to fix it', async () => {

        const filename = tempSqlitePath('prod');
        const config = loadConfig({ NODE_ENV: 'production', DATABASE_URL: `sqlite:${filename}`, LOG_LEVEL: 'silent', ENABLE_CONSOLE: '0' }, root);
        const server = await createServer(config);
        try {
            const error = await expect(prepareDatabase(server, config)).to.reject(StartupError);
            expect(error.message).to.contain('npm run migrate');
            expect(error.message).to.contain('pending migration');
            // Nothing was applied.
            expect((await migrationStatus(server.knex)).completed).to.equal([]);
        }
        finally {
            await server.stop();
            removeSqliteFiles(filename);
        }
    });

    it('migrates and seeds an empty database outside production, once', async () => {

        const filename = tempSqlitePath('dev');
        const config = loadConfig({ NODE_ENV: 'development', DATABASE_URL: `sqlite:${filename}`, LOG_LEVEL: 'silent' }, root);
        const server = await createServer(config);
        try {
            const first = await prepareDatabase(server, config);
            expect(first.migrated.length).to.be.above(0);
            expect(first.seeded).to.be.true();
            const second = await prepareDatabase(server, config);
            expect(second).to.equal({ migrated: [], seeded: false });
            expect(await server.knex('resources').count({ n: '*' })).to.equal([{ n: 300 }]);
        }
        finally {
            await server.stop();
            removeSqliteFiles(filename);
        }
    });

    it('exits with one clear line for an unsupported DATABASE_URL', { timeout: 30_000 }, async () => {

        const run = await runServer({ DATABASE_URL: 'mysql://root:hunter2@localhost/library' });
        expect(run.code).to.equal(1);
        const lines = run.stderr.trim().split('\n');
        expect(lines).to.have.length(1);
        expect(lines[0]).to.match(/^neo-alexandria: Unsupported DATABASE_URL .* Accepted forms: .*postgres/);
        expect(run.stderr).to.not.contain('hunter2');
        expect(run.stderr).to.not.contain('    at ');
    });

    it('exits with one clear line for a DATABASE_URL naming a file that is not a SQLite database, or a directory', { timeout: 60_000 }, async () => {

        const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'na-startup-bad-'));
        try {
            Fs.writeFileSync(Path.join(dir, 'library.db.gz'), Zlib.gzipSync(Buffer.from('not a database')));
            Fs.writeFileSync(Path.join(dir, 'dump.sql'), 'CREATE TABLE users (id text);\n');
            for (const [file, reason] of [['library.db.gz', 'not a SQLite database'], ['dump.sql', 'not a SQLite database'], ['', 'is a directory']]) {
                const run = await runServer({ DATABASE_URL: `sqlite:${Path.join(dir, file!)}`, PORT: '0' });
                expect(run.code, file).to.equal(1);
                const lines = run.stderr.trim().split('\n');
                expect(lines, file).to.have.length(1);
                expect(lines[0], file).to.match(/^neo-alexandria: cannot connect to the database sqlite:/);
                expect(lines[0], file).to.contain(reason);
            }
        }
        finally {
            Fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it('exits with one clear line for an invalid setting', { timeout: 30_000 }, async () => {

        const run = await runServer({ PORT: 'http' });
        expect(run.code).to.equal(1);
        expect(run.stderr.trim()).to.equal('neo-alexandria: Invalid PORT: must be a number');
    });

    it('serves, then shuts down cleanly on SIGTERM', { timeout: 30_000 }, async () => {

        const filename = tempSqlitePath('serve');
        let status = 0;
        try {
            const run = await runServer({ DATABASE_URL: `sqlite:${filename}`, PORT: '0', SEED_DEMO: '0' }, /server on http:\/\/\S+/, async (child, stdout) => {

                const uri = /server on (http:\/\/\S+)/.exec(stdout)![1]!;
                status = (await fetch(`${uri}/health`)).status;
                child.kill('SIGTERM');
            });
            expect(status).to.equal(200);
            expect(run.stdout).to.contain('SIGTERM received');
            expect(run.code).to.equal(0);
        }
        finally {
            removeSqliteFiles(filename);
        }
    });
});
