import { spawn } from 'node:child_process';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import Zlib from 'node:zlib';

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { migrateData, MigrationUsageError } from '../../../plugins/migrator/migrator';
import type { ProgressEvent } from '../../../plugins/migrator/types';
import { startOwnPostgres, type OwnPostgres } from '../../helpers/own-postgres';
import { removeSqliteFiles } from '../../helpers/database';
import { needsPostgres } from '../../helpers/requirements';
import { adminHeaders, createTestServer, type TestServer } from '../../helpers/server';
import { insertAwkwardLibrary, migrated, normalizedDump, scratchPostgres, scratchSqlite, withEngine, type Scratch, type ScratchSqlite } from './fixtures';

export const lab = Lab.script();
// Needs a PostgreSQL server beside SQLite (skipped without one, except under CI).
const postgres = needsPostgres();
const { describe, it, before, after } = lab;

const ROOT = Path.resolve(__dirname, '..', '..', '..');

/** Runs the CLI; `onProgress` sees its progress output (stderr) as it grows. */
function cli(args: string[], onProgress?: (stderr: string) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {

    return new Promise((resolve) => {

        const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/migrate-data.ts', ...args], { cwd: ROOT });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => (stdout += chunk));
        child.stderr.on('data', (chunk) => {

            stderr += chunk;
            onProgress?.(stderr);
        });
        child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
}

describe('migrator: sources and targets that fail', () => {

    const cleanup: Array<() => Promise<void>> = [];
    let dir: string;
    let library: ScratchSqlite;
    let t: TestServer;
    const bad: Record<string, { url: string; reason: RegExp }> = {};

    before({ timeout: 120_000 }, async () => {

        dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'na-migrator-bad-'));
        cleanup.push(async () => Fs.rmSync(dir, { recursive: true, force: true }));
        library = await migrated(scratchSqlite('failures'));
        cleanup.push(library.drop);
        await withEngine(library.url, (engine) => insertAwkwardLibrary(engine.knex, 60));
        // One file without a WAL beside it, to cut and damage.
        await withEngine(library.url, (engine) => engine.knex.raw('PRAGMA wal_checkpoint(TRUNCATE)'));
        const bytes = Fs.readFileSync(library.filename);

        const file = (name: string, content: Buffer) => {

            Fs.writeFileSync(Path.join(dir, name), content);
            return `sqlite:${Path.join(dir, name)}`;
        };

        bad['random bytes'] = { url: file('random.db', Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919) % 251))), reason: /not a SQLite database/ };
        bad['a gzip of a library'] = { url: file('library.db.gz', Zlib.gzipSync(bytes)), reason: /not a SQLite database/ };
        bad['a SQL dump'] = { url: file('dump.sql', Buffer.from('BEGIN TRANSACTION;\nCREATE TABLE users (id text);\nCOMMIT;\n')), reason: /not a SQLite database/ };
        bad['a truncated library'] = { url: file('truncated.db', bytes.subarray(0, Math.floor(bytes.length / 3))), reason: /SQLITE_CORRUPT|damaged|malformed/ };
        // Pages past the catalog overwritten: the file opens, its tables do not read.
        const damaged = Buffer.from(bytes);
        damaged.fill(0x5a, Math.floor(bytes.length / 4), Math.floor(bytes.length / 2));
        bad['a damaged library'] = { url: file('damaged.db', damaged), reason: /SQLITE_CORRUPT|damaged|malformed/ };

        // Progress reaches the job row often enough for a test to act mid-copy.
        t = await createTestServer({ JOB_PROGRESS_INTERVAL_MS: '100' });
    });

    after({ timeout: 120_000 }, async () => {

        await t?.stop();
        for (const drop of cleanup.reverse()) {
            await drop();
        }
    });

    const target = () => {

        const database = scratchSqlite('failures-target');
        cleanup.push(database.drop);
        return database;
    };

    /** Every failure reason of a report, fatal or per table. */
    const reasons = (report: { fatal: string | null; tables: Array<{ errors: Array<{ message: string }> }> }) => [report.fatal ?? '', ...report.tables.flatMap((table) => table.errors.map((error) => error.message))].join('\n');

    it('fails a run from a file that is not a sound SQLite database with the reason, and never crashes', { timeout: 120_000 }, async () => {

        for (const [name, source] of Object.entries(bad)) {
            const report = await migrateData({ source: source.url, target: target().url, validate: true });
            expect(report.ok, name).to.be.false();
            expect(reasons(report), name).to.match(source.reason);
            expect(reasons(report), name).to.not.contain('    at ');
        }
    });

    it('refuses a directory as source or target before opening anything', async () => {

        await expect(migrateData({ source: `sqlite:${dir}`, target: target().url })).to.reject(MigrationUsageError, /is a directory, not a SQLite file/);
        await expect(migrateData({ source: library.url, target: `sqlite:${dir}` })).to.reject(MigrationUsageError, /is a directory, not a SQLite file/);
    });

    it('fails such jobs through the plugin while the server keeps answering', { timeout: 120_000 }, async () => {

        const inject = (method: string, url: string, payload?: object) => t.server.inject({ method, url, payload, headers: adminHeaders });
        for (const [name, source] of Object.entries(bad)) {
            const started = await inject('POST', '/migrator/jobs', { source: source.url, target: target().url });
            expect(started.statusCode, name).to.equal(202);
            let job = (await inject('GET', '/migrator/jobs/current')).result as any;
            for (let i = 0; i < 300 && job.status === 'running'; ++i) {
                await new Promise((resolve) => setTimeout(resolve, 50));
                job = (await inject('GET', '/migrator/jobs/current')).result;
            }

            expect(job.status, name).to.equal('failed');
            expect([job.error ?? '', ...(job.report?.tables ?? []).flatMap((table: any) => table.errors.map((error: any) => error.message))].join('\n'), name).to.match(source.reason);
            expect((await inject('GET', '/migrator/schema')).statusCode).to.equal(200);
        }

        const directory = await inject('POST', '/migrator/jobs', { source: `sqlite:${dir}`, target: target().url });
        expect(directory.statusCode).to.equal(400);
        expect(directory.payload).to.contain('is a directory');
    });

    it('fails such runs through the CLI with exit code 1 and the reason', { timeout: 120_000 }, async () => {

        for (const name of ['random bytes', 'a damaged library']) {
            const run = await cli(['--source', bad[name]!.url, '--target', target().url]);
            expect(run.code, name).to.equal(1);
            expect(run.stdout + run.stderr, name).to.match(bad[name]!.reason);
            expect(run.stderr, name).to.not.contain('    at ');
        }

        const directory = await cli(['--source', `sqlite:${dir}`, '--target', target().url]);
        expect(directory.code).to.equal(2);
        expect(directory.stderr).to.contain('is a directory, not a SQLite file');
    });

    it('fails a run whose PostgreSQL source database is dropped mid-run, and the next run works', { ...postgres, timeout: 180_000 }, async () => {

        const source: Scratch = await scratchPostgres('vanishing');
        let dropped = false;
        try {
            expect((await migrateData({ source: library.url, target: source.url })).ok).to.be.true();
            let dropping: Promise<void> | null = null;
            const onProgress = (event: ProgressEvent) => {

                if (event.type === 'batch' && !dropping) {
                    dropping = source.drop().then(() => {

                        dropped = true;
                    });
                }
            };

            const report = await migrateData({ source: source.url, target: target().url, batchSize: 1, onProgress });
            await dropping;
            expect(report.ok).to.be.false();
            expect(reasons(report)).to.match(/terminat|does not exist|Connection/i);
            expect(reasons(report)).to.not.contain('    at ');
        }
        finally {
            if (!dropped) {
                await source.drop();
            }
        }

        // The process is fine: another run succeeds.
        expect((await migrateData({ source: library.url, target: target().url })).ok).to.be.true();
    });

    it('fails a run whose SQLite target file is removed mid-run instead of reporting rows that are nowhere', { timeout: 120_000 }, async () => {

        const into = target();
        let removed = false;
        const onProgress = (event: ProgressEvent) => {

            if (event.type === 'batch' && !removed) {
                removed = true;
                // The whole database goes, its WAL and shared memory too: a
                // connection opening the path again would otherwise take the
                // old -shm over, truncate it under the open connection's
                // mapping, and the process would die of SIGBUS.
                removeSqliteFiles(into.filename);
            }
        };

        const report = await migrateData({ source: library.url, target: into.url, batchSize: 5, onProgress });
        expect(removed).to.be.true();
        expect(report.ok).to.be.false();
        expect(report.fatal).to.contain('was removed or replaced during the run');
    });

    it('fails a job whose SQLite target file alone is removed mid-run with the reason, the server keeps serving, and the next job into that path works', { timeout: 180_000 }, async () => {

        // Only the database file goes; its -wal and -shm stay. A connection
        // opening the path again would take that -shm over and truncate it
        // under the writer's mapping (SIGBUS, the whole server gone): the
        // migrator checks the file before every batch and before it opens
        // another connection.
        const into = await migrated(target());
        // A library long enough that a copy of one row per batch is still
        // running when the job's progress first shows (progress every 100 ms).
        const large = await migrated(scratchSqlite('failures-large'));
        cleanup.push(large.drop);
        await withEngine(large.url, (engine) => insertAwkwardLibrary(engine.knex, 600));
        const inject = (method: string, url: string, payload?: object) => t.server.inject({ method, url, payload, headers: adminHeaders });
        const started = await inject('POST', '/migrator/jobs', { source: large.url, target: into.url, batchSize: 1, truncate: true });
        expect(started.statusCode, started.payload).to.equal(202);
        let job = (await inject('GET', '/migrator/jobs/current')).result as any;
        for (let i = 0; i < 2000 && job.status === 'running' && !job.tables.some((table: { done: number }) => table.done > 0); ++i) {
            await new Promise((resolve) => setTimeout(resolve, 10));
            job = (await inject('GET', '/migrator/jobs/current')).result;
        }

        expect(job.status).to.equal('running');
        expect(Fs.existsSync(`${into.filename}-shm`)).to.be.true();
        // What was copied when the file went (read in the same turn as the removal).
        const doneAtRemoval = job.tables.reduce((total: number, table: { done: number }) => total + table.done, 0);
        Fs.rmSync(into.filename);
        for (let i = 0; i < 600 && job.status === 'running'; ++i) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            job = (await inject('GET', '/migrator/jobs/current')).result;
        }

        expect(job.status).to.equal('failed');
        expect(job.error).to.contain('was removed or replaced during the run');
        // Stopped at the next batch (of one row), not after copying everything
        // into the removed file; how far the copy had got when the file went
        // depends on the machine's load, so the bound is relative to that.
        const sum = (key: 'copiedRows' | 'sourceRows'): number => job.report.tables.reduce((total: number, table: any) => total + table[key], 0);
        expect(sum('copiedRows')).to.be.below(doneAtRemoval + 25);
        expect(sum('copiedRows')).to.be.below(sum('sourceRows'));
        expect((await inject('GET', '/migrator/schema')).statusCode).to.equal(200);
        expect((await t.server.inject({ method: 'GET', url: '/health' })).statusCode as number).to.be.below(500);

        removeSqliteFiles(into.filename);
        const again = await migrateData({ source: large.url, target: into.url, validate: true });
        expect(again.fatal).to.be.null();
        expect(again.ok).to.be.true();
    });

    describe('with a PostgreSQL server of its own', () => {

        let server: OwnPostgres;
        // Long enough that a copy of one row per batch is still under way
        // however fast the server restarts (the default library can finish
        // between the shutdown and the start, and the run then succeeds).
        let long: ScratchSqlite;

        before({ timeout: 120_000 }, async () => {

            server = await startOwnPostgres();
            long = await migrated(scratchSqlite('failures-restart'));
            cleanup.push(long.drop);
            await withEngine(long.url, (engine) => insertAwkwardLibrary(engine.knex, 400));
        });

        after({ timeout: 60_000 }, async () => {

            await server?.stop();
        });

        it('fails a run when the target server restarts mid-copy, and --resume finishes it exactly', { timeout: 240_000 }, async () => {

            let restarting: Promise<void> | null = null;
            const onProgress = (event: ProgressEvent) => {

                if (event.type === 'batch' && event.table === 'resources' && event.done >= 10 && !restarting) {
                    restarting = server.restart();
                }
            };

            const report = await migrateData({ source: long.url, target: server.url, batchSize: 1, validate: true, onProgress });
            await restarting;
            expect(restarting).to.not.be.null();
            expect(report.ok).to.be.false();
            expect(reasons(report)).to.match(/lost the target database .* during the run: .*(terminat|Connection|ECONNREFUSED|ECONNRESET|shut)/i);

            const resumed = await migrateData({ source: long.url, target: server.url, resume: true, validate: true });
            expect(resumed.fatal).to.be.null();
            expect(resumed.ok).to.be.true();
            expect(await withEngine(server.url, normalizedDump)).to.equal(await withEngine(long.url, normalizedDump));
        });

        it('fails a CLI run when the source server goes away mid-copy, with exit code 1 and the reason', { timeout: 240_000 }, async () => {

            const copy = target();
            let halting: Promise<void> | null = null;
            // Halted once the first table is copied: the copy of the others is under way.
            const run = cli(['--source', server.url, '--target', copy.url, '--batch-size', '1'], (progress) => {

                if (!halting && /: done, \d+ row\(s\) copied/.test(progress)) {
                    halting = server.halt();
                }
            });
            try {
                const result = await run;
                await halting;
                expect(halting).to.not.be.null();
                expect(result.code, result.stdout).to.equal(1);
                expect(result.stdout + result.stderr).to.match(/lost the source database .* during the run: .*(terminat|Connection|ECONNREFUSED|ECONNRESET|shut)/i);
                expect(result.stderr).to.not.contain('    at ');
            }
            finally {
                await server.start();
            }
        });
    });
});
