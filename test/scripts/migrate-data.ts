import { spawn } from 'node:child_process';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { insertAwkwardLibrary, migrated, normalizedDump, scratchPostgres, scratchSqlite, withEngine, type Scratch, type ScratchSqlite } from '../plugins/migrator/fixtures';
import { tempSqlitePath } from '../helpers/database';
import { needsPostgres, postgresDatabaseUrl } from '../helpers/requirements';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

// Tests that move data to or from PostgreSQL, whatever the suite's dialect.
const postgres = needsPostgres();

const ROOT = Path.resolve(__dirname, '..', '..');

interface Run {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
}

/** Runs the CLI; `killWhen` may SIGKILL it once its stderr satisfies a condition. */
function cli(args: string[], killWhen?: (stderr: string) => number | null): Promise<Run> {

    return new Promise((resolve) => {

        const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/migrate-data.ts', ...args], { cwd: ROOT });
        let stdout = '';
        let stderr = '';
        let armed = false;
        child.stdout.on('data', (chunk) => (stdout += chunk));
        child.stderr.on('data', (chunk) => {

            stderr += chunk;
            const delay = killWhen && !armed ? killWhen(stderr) : null;
            if (delay !== null && delay !== undefined) {
                armed = true;
                setTimeout(() => child.kill('SIGKILL'), delay);
            }
        });
        child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
}

describe('scripts/migrate-data', () => {

    const cleanup: Array<() => Promise<void>> = [];
    let source: ScratchSqlite;

    before({ timeout: 120_000 }, async () => {

        source = await migrated(scratchSqlite('cli-source'));
        cleanup.push(source.drop);
        await withEngine(source.url, (engine) => insertAwkwardLibrary(engine.knex, 240));
    });

    after({ timeout: 120_000 }, async () => {

        for (const drop of cleanup.reverse()) {
            await drop();
        }
    });

    const pg = async (label: string): Promise<Scratch> => {

        const database = await migrated(await scratchPostgres(label));
        cleanup.push(database.drop);
        return database;
    };

    it('answers wrong flags with one usage error and exit code 2', { timeout: 180_000 }, async () => {

        for (const args of [
            ['--bogus'],
            ['--source', source.url],
            ['--source', source.url, '--target', 'sqlite:/tmp/x.db', '--batch-size', 'ten'],
            ['--source', source.url, '--target', 'mysql://root:hunter2@db/library'],
            ['--source', source.url, '--target', 'sqlite:/tmp/x.db', 'extra'],
            // The report is written after the run: a path it cannot go to is refused first.
            ['--source', source.url, '--target', 'sqlite:/tmp/x.db', '--report', '/nonexistent-dir/report.json'],
            ['--source', source.url, '--target', 'sqlite:/tmp/x.db', '--report', Os.tmpdir()]
        ]) {
            const run = await cli(args);
            expect(run.code, args.join(' ')).to.equal(2);
            expect(run.stderr).to.match(/^migrate-data: .+\nusage: npm run migrate-data/);
            expect(run.stderr + run.stdout).to.not.contain('hunter2');
        }
    });

    it('fails clearly on an unreachable database without showing its password', { timeout: 120_000 }, async () => {

        const run = await cli(['--source', source.url, '--target', 'postgres://postgres:hunter2@127.0.0.1:1/nowhere']);
        expect(run.code).to.equal(1);
        // The driver's own reason, at once: not a pool timeout after the acquire timeout.
        expect(run.stdout).to.contain('cannot connect to the target database postgres://postgres:***@127.0.0.1:1/nowhere: connect ECONNREFUSED 127.0.0.1:1');
        expect(run.stdout).to.not.contain('Timeout acquiring');
        expect(run.stdout + run.stderr).to.not.contain('hunter2');
    });

    it('names a missing PostgreSQL database as such', { ...postgres, timeout: 120_000 }, async () => {

        const missing = new URL(postgresDatabaseUrl('na_migrator_no_such_database'));
        missing.password = 'hunter2';
        const run = await cli(['--source', source.url, '--target', missing.toString()]);
        expect(run.code).to.equal(1);
        expect(run.stdout).to.contain('database "na_migrator_no_such_database" does not exist (create it first, for example with createdb)');
        expect(run.stdout + run.stderr).to.not.contain('hunter2');
    });

    it('exits non-zero with the failing table in the report while the others migrate', { ...postgres, timeout: 180_000 }, async () => {

        const target = await pg('cli-narrow');
        await withEngine(target.url, (engine) => engine.knex.raw('ALTER TABLE annotations ADD CONSTRAINT annotations_short_color CHECK (length(color) <= 2)'));
        const withPassword = target.url.replace('postgres@', 'postgres:hunter2@');
        const reportFile = `${tempSqlitePath('report')}.json`;
        cleanup.push(async () => Fs.rmSync(reportFile, { force: true }));

        const run = await cli(['--source', source.url, '--target', withPassword, '--validate', '--report', reportFile]);
        expect(run.code).to.equal(1);
        expect(run.stdout).to.contain('error: annotations (batch 1): batch 1');
        expect(run.stdout).to.contain('violates check constraint');
        expect(run.stdout + run.stderr).to.not.contain('hunter2');

        const report = JSON.parse(Fs.readFileSync(reportFile, 'utf8'));
        expect(report.target).to.contain('postgres:***@');
        expect(JSON.stringify(report)).to.not.contain('hunter2');
        const byTable = Object.fromEntries(report.tables.map((table: any) => [table.table, table]));
        expect(byTable.annotations.status).to.equal('failed');
        expect(byTable.resources).to.include({ status: 'ok', sourceRows: 240, targetRows: 240, checksumMatch: true });
        expect(byTable.citations).to.include({ status: 'ok', checksumMatch: true });
    });

    it('resumes after being killed at random points without duplicating or losing a row', { ...postgres, timeout: 400_000 }, async () => {

        const target = await pg('crash');
        const base = ['--source', source.url, '--target', target.url, '--batch-size', '15'];
        // Each kill lands a random few milliseconds after a progress line, so
        // on any machine it hits mid-copy or mid-restore, not after the end.
        const points: Array<[string, number]> = [['resources: ', 40], ['annotations: ', 40], ['citations: ', 20], ['restoring triggers', 3]];
        let killed = 0;
        for (const [point, within] of points) {
            const delay = Math.floor(Math.random() * within);
            const run = await cli([...base, ...(killed ? ['--resume'] : [])], (stderr) => (stderr.includes(point) ? delay : null));
            expect(run.stderr).to.not.contain('not empty');
            expect(run.signal, `${point} +${delay} ms: ${run.stdout}`).to.equal('SIGKILL');
            ++killed;
        }
        const final = await cli([...base, '--resume', '--validate']);
        expect(final.code, final.stdout + final.stderr).to.equal(0);
        expect(final.stdout).to.contain('(resumed)');
        expect(final.stdout).to.not.contain('DIFFERS');

        const original = await withEngine(source.url, normalizedDump);
        const copied = await withEngine(target.url, normalizedDump);
        expect(copied).to.equal(original);
    });

    it('resumes a PostgreSQL → SQLite run killed part-way', { ...postgres, timeout: 400_000 }, async () => {

        const middle = await pg('crash-back');
        const first = await cli(['--source', source.url, '--target', middle.url]);
        expect(first.code, first.stdout).to.equal(0);

        const back = scratchSqlite('crash-back');
        cleanup.push(back.drop);
        const base = ['--source', middle.url, '--target', back.url, '--batch-size', '15'];
        let killed = 0;
        for (const [point, within] of [['annotations: ', 30], ['rebuilding search data', 2]] as const) {
            const delay = Math.floor(Math.random() * within);
            const run = await cli([...base, ...(killed ? ['--resume'] : [])], (stderr) => (stderr.includes(point) ? delay : null));
            expect(run.signal, `${point} +${delay} ms: ${run.stdout}`).to.equal('SIGKILL');
            ++killed;
        }
        const final = await cli([...base, '--resume', '--validate']);
        expect(final.code, final.stdout + final.stderr).to.equal(0);
        const original = await withEngine(source.url, normalizedDump);
        const returned = await withEngine(back.url, normalizedDump);
        expect(returned).to.equal(original);
    });
});
