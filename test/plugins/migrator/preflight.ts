import { spawn } from 'node:child_process';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { migrateData } from '../../../plugins/migrator/migrator';
import { invalidValue } from '../../../plugins/migrator/preflight';
import type { ColumnInfo, MigrationReport } from '../../../plugins/migrator/types';
import { needsPostgres } from '../../helpers/requirements';
import { adminHeaders, createTestServer } from '../../helpers/server';
import { insertAwkwardLibrary, migrated, scratchPostgres, scratchSqlite, withEngine, type Scratch, type ScratchSqlite } from './fixtures';

export const lab = Lab.script();
// Needs a PostgreSQL server beside SQLite (skipped without one, except under CI).
const postgres = needsPostgres();
const { describe, it, before, after } = lab;

const ROOT = Path.resolve(__dirname, '..', '..', '..');

const column = (kind: ColumnInfo['kind'], declared: string, maxLength: number | null = null): ColumnInfo => ({ name: 'c', kind, declared, maxLength, nullable: true, hasDefault: false });

describe('migrator pre-flight', () => {

    const cleanup: Array<() => Promise<void>> = [];
    let source: ScratchSqlite;
    let dir: string;
    // The values PostgreSQL refuses, as [table, column, key, why].
    const planted: Array<[string, string, string, RegExp]> = [];
    let nulResource: string;
    let latin1Resource: string;
    // 'café au lait' written as Latin-1: SQLite's TEXT holds any bytes.
    const latin1 = '636166e9206175206c616974';

    before({ timeout: 120_000 }, async () => {

        dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'na-preflight-'));
        cleanup.push(async () => Fs.rmSync(dir, { recursive: true, force: true }));
        source = await migrated(scratchSqlite('preflight'));
        cleanup.push(source.drop);
        await withEngine(source.url, async ({ knex }) => {

            await insertAwkwardLibrary(knex, 12);
            const resources = await knex('resources').orderBy('id').pluck('id');
            nulResource = resources[0];
            await knex('resources').where('id', resources[0]).update({ description: 'before\u0000after' });
            planted.push(['resources', 'description', resources[0], /NUL/]);
            await knex('resources').where('id', resources[1]).update({ ingestion_started_at: '-005000-01-01T00:00:00.000Z' });
            planted.push(['resources', 'ingestion_started_at', resources[1], /outside the years/]);
            await knex('resources').where('id', resources[2]).update({ ingestion_completed_at: 'yesterday' });
            planted.push(['resources', 'ingestion_completed_at', resources[2], /not a date/]);
            latin1Resource = resources[3];
            await knex.raw(`UPDATE resources SET description = CAST(X'${latin1}' AS TEXT) WHERE id = ?`, [latin1Resource]);
            planted.push(['resources', 'description', latin1Resource, /not valid UTF-8 \(byte 0xe9 at offset 3 of 12\)/]);
            // "don’t" in Windows-1252: a continuation byte without a lead.
            await knex.raw(`UPDATE resources SET title = CAST(X'646f6e9274' AS TEXT) WHERE id = ?`, [resources[4]]);
            planted.push(['resources', 'title', resources[4], /not valid UTF-8 \(byte 0x92 at offset 3 of 5\)/]);
            const user = await knex('users').orderBy('id').first('id');
            await knex('users').where('id', user.id).update({ display_name: 'é'.repeat(201) });
            planted.push(['users', 'display_name', user.id, /201 characters, longer than the 200/]);
            const authority = await knex('authority_subjects').orderBy('id').first('id');
            await knex('authority_subjects').where('id', authority.id).update({ usage_count: 2 ** 31 });
            planted.push(['authority_subjects', 'usage_count', authority.id, /outside the range of integer/]);
            const second = await knex('authority_subjects').where('id', '!=', authority.id).orderBy('id').first('id');
            await knex('authority_subjects').where('id', second.id).update({ variants: '["nul \\u0000 escape"]' });
            planted.push(['authority_subjects', 'variants', second.id, /jsonb cannot store/]);
        });
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

    const expectPlanted = (report: MigrationReport) => {

        const found = report.invalidValues.map((value) => `${value.table}.${value.column}:${Object.values(value.key)[0]}`).sort();
        expect(found).to.equal(planted.map(([table, name, key]) => `${table}.${name}:${key}`).sort());
        for (const [table, name, key, why] of planted) {
            const value = report.invalidValues.find((entry) => entry.table === table && entry.column === name && Object.values(entry.key)[0] === key)!;
            expect(value.reason, `${table}.${name}`).to.match(why);
            expect(value.hint, `${table}.${name}`).to.not.be.empty();
        }
    };

    const count = (url: string, table: string) => withEngine(url, async ({ knex }) => Number((await knex(table).count({ n: '*' }))[0]!.n));

    it('names what the target cannot hold, value by value', () => {

        expect(invalidValue('postgres', column('text', 'text'), 'a\u0000b')!.reason).to.contain('NUL');
        expect(invalidValue('sqlite', column('text', 'text'), 'a\u0000b')).to.be.null();
        expect(invalidValue('postgres', column('text', 'character varying', 3), '😀😀😀')).to.be.null();
        expect(invalidValue('postgres', column('text', 'character varying', 3), 'abcd')!.reason).to.contain('4 characters');
        expect(invalidValue('postgres', column('integer', 'integer'), 2147483648)!.reason).to.contain('outside the range');
        expect(invalidValue('postgres', column('integer', 'bigint'), 2147483648)).to.be.null();
        expect(invalidValue('postgres', column('integer', 'integer'), 1.5)!.reason).to.contain('not an integer');
        expect(invalidValue('postgres', column('uuid', 'uuid'), 'not-a-uuid')!.reason).to.contain('not a UUID');
        expect(invalidValue('postgres', column('json', 'jsonb'), '{"a":"\\u0000"}')!.reason).to.contain('jsonb');
        expect(invalidValue('postgres', column('json', 'jsonb'), '{"a":"\\\\u0000"}')).to.be.null();
        expect(invalidValue('postgres', column('json', 'jsonb'), '{"a":')!.reason).to.contain('not valid JSON');
        expect(invalidValue('postgres', column('timestamp', 'timestamp with time zone'), '2024-02-29T12:00:00.000Z')).to.be.null();
        expect(invalidValue('postgres', column('timestamp', 'timestamp with time zone'), '-005000-01-01T00:00:00.000Z')!.reason).to.contain('outside the years');
        expect(invalidValue('sqlite', column('timestamp', 'datetime'), '+010000-01-01T00:00:00.000Z')!.reason).to.contain('1 to 9999');
        expect(invalidValue('postgres', column('boolean', 'boolean'), 2)!.reason).to.contain('not a boolean');
        expect(invalidValue('postgres', column('float', 'double precision'), 'abc')!.reason).to.contain('not a number');
    });

    it('stops before writing anything by default, and a dry run lists the same values', { ...postgres, timeout: 120_000 }, async () => {

        const target = await pg('preflight-fail');
        const dry = await migrateData({ source: source.url, target: target.url, dryRun: true });
        expect(dry.ok).to.be.false();
        expectPlanted(dry);

        const report = await migrateData({ source: source.url, target: target.url, validate: true });
        expect(report.ok).to.be.false();
        expect(report.fatal).to.match(/the source holds 8 value\(s\) the target cannot hold; nothing was written/);
        expect(report.fatal).to.contain('--on-invalid reject');
        expectPlanted(report);
        for (const table of ['users', 'resources', 'annotations', 'authority_subjects']) {
            expect(await count(target.url, table), table).to.equal(0);
        }
    });

    it('with --on-invalid reject, writes those rows and the rows that reference them whole to the reject file, copies and validates the rest', { ...postgres, timeout: 180_000 }, async () => {

        const target = await pg('preflight-reject');
        const rejectFile = Path.join(dir, 'rejects.jsonl');
        const report = await migrateData({ source: source.url, target: target.url, validate: true, onInvalid: 'reject', rejectFile });
        expect(report.fatal).to.be.null();
        expect(report.ok).to.be.true();
        expectPlanted(report);
        expect(report.rejectFile).to.equal(rejectFile);

        const lines = Fs.readFileSync(rejectFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
        expect(lines.length).to.equal(report.rejectedRows);
        const nul = lines.find((line) => line.table === 'resources' && line.key.id === nulResource);
        expect(nul.row.description).to.equal('before\u0000after');
        expect(nul.reasons[0]).to.include({ column: 'description' });
        // Rows of other tables that reference a set-aside resource are set aside with it.
        const children = lines.filter((line) => line.table === 'annotations' && line.row.resource_id === nulResource);
        expect(children.length).to.equal(1);
        expect(children[0].reasons[0].reason).to.contain('references a set-aside resources row');
        // Text that is not UTF-8 keeps its exact bytes.
        const latin = lines.find((line) => line.table === 'resources' && line.key.id === latin1Resource);
        expect(latin.bytes).to.equal({ description: latin1 });
        expect(latin.row.description).to.be.null();
        expect(latin.reasons[0].reason).to.contain('not valid UTF-8');

        for (const table of report.tables) {
            expect(table.status, table.table).to.equal('ok');
            expect(table.checksumMatch, table.table).to.be.true();
            expect(table.targetRows, table.table).to.equal(table.sourceRows - table.rejectedRows);
            expect(table.rejectedRows, table.table).to.equal(lines.filter((line) => line.table === table.table).length);
        }
    });

    it('finds text that is not UTF-8 in a SQLite source before a copy into SQLite would replace its bytes', { timeout: 120_000 }, async () => {

        const target = await migrated(scratchSqlite('preflight-utf8'));
        cleanup.push(target.drop);
        const failed = await migrateData({ source: source.url, target: target.url });
        expect(failed.ok).to.be.false();
        expect(failed.fatal).to.contain('nothing was written');
        const utf8 = failed.invalidValues.filter((value) => /UTF-8/.test(value.reason));
        expect(utf8.map((value) => `${value.table}.${value.column}:${value.key.id}`).sort()).to.equal(planted.filter(([, , , why]) => /UTF-8/.test(why.source)).map(([table, name, key]) => `${table}.${name}:${key}`).sort());
        expect(utf8).to.have.length(2);
        expect(utf8[0]!.hint).to.contain('UTF-8');

        const rejectFile = Path.join(dir, 'utf8.jsonl');
        const report = await migrateData({ source: source.url, target: target.url, validate: true, onInvalid: 'reject', rejectFile, truncate: true });
        expect(report.fatal).to.be.null();
        expect(report.ok).to.be.true();
        const lines = Fs.readFileSync(rejectFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
        const latin = lines.find((line) => line.table === 'resources' && line.key.id === latin1Resource);
        expect(latin.bytes).to.equal({ description: latin1 });
        expect(Buffer.from(latin.bytes.description, 'hex').toString('latin1')).to.equal('café au lait');
        // Nothing with U+FFFD in place of the byte reached the target.
        expect(await withEngine(target.url, ({ knex }) => knex('resources').where('id', latin1Resource).first())).to.be.undefined();
        expect(await withEngine(target.url, async ({ knex }) => (await knex('resources').where('description', 'like', '%\ufffd%')).length)).to.equal(0);
    });

    it('finds instants SQLite cannot hold in a PostgreSQL source', { ...postgres, timeout: 180_000 }, async () => {

        const middle = await pg('preflight-source');
        // The rows PostgreSQL refuses stay behind; the rest moves.
        expect((await migrateData({ source: source.url, target: middle.url, onInvalid: 'reject', rejectFile: Path.join(dir, 'first.jsonl') })).ok).to.be.true();
        const id = await withEngine(middle.url, async ({ knex }) => {

            const row = await knex('resources').orderBy('id').first('id');
            await knex('resources').where('id', row.id).update({ ingestion_completed_at: knex.raw("'infinity'") });
            return row.id;
        });

        const back = scratchSqlite('preflight-back');
        cleanup.push(back.drop);
        const report = await migrateData({ source: middle.url, target: (await migrated(back)).url });
        expect(report.ok).to.be.false();
        expect(report.invalidValues.map((value) => [value.table, value.column, value.key.id])).to.equal([['resources', 'ingestion_completed_at', id]]);
        expect(report.invalidValues[0]!.reason).to.match(/not a date|outside the years/);
    });

    it('says so through the CLI (exit code 3 with a reject file, 2 for a wrong choice) and the plugin', { ...postgres, timeout: 180_000 }, async () => {

        const cli = (args: string[]) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {

            const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/migrate-data.ts', ...args], { cwd: ROOT });
            let stdout = '';
            let stderr = '';
            child.stdout.on('data', (chunk) => (stdout += chunk));
            child.stderr.on('data', (chunk) => (stderr += chunk));
            child.on('close', (code) => resolve({ code, stdout, stderr }));
        });

        const wrong = await cli(['--source', source.url, '--target', 'sqlite:/tmp/x.db', '--on-invalid', 'skip']);
        expect(wrong.code).to.equal(2);
        expect(wrong.stderr).to.contain('--on-invalid must be fail or reject');

        const failTarget = await pg('preflight-cli-fail');
        const failed = await cli(['--source', source.url, '--target', failTarget.url]);
        expect(failed.code).to.equal(1);
        expect(failed.stdout).to.contain('invalid: users');
        expect(failed.stdout).to.contain('not valid UTF-8');
        expect(failed.stdout).to.contain('nothing was written');

        const target = await pg('preflight-cli');
        const rejectFile = Path.join(dir, 'cli.jsonl');
        const run = await cli(['--source', source.url, '--target', target.url, '--validate', '--on-invalid', 'reject', '--reject-file', rejectFile]);
        expect(run.code, run.stdout + run.stderr).to.equal(3);
        expect(run.stdout).to.match(/OK: \d+ row\(s\), \d+ set aside in /);
        expect(Fs.existsSync(rejectFile)).to.be.true();

        const t = await createTestServer();
        try {
            const pluginTarget = await pg('preflight-plugin');
            const started = await t.server.inject({ method: 'POST', url: '/migrator/jobs', headers: adminHeaders, payload: { source: source.url, target: pluginTarget.url, onInvalid: 'reject' } });
            expect(started.statusCode, started.payload).to.equal(202);
            let job = (await t.server.inject({ method: 'GET', url: '/migrator/jobs/current', headers: adminHeaders })).result as any;
            while (job.status === 'running') {
                await new Promise((resolve) => setTimeout(resolve, 100));
                job = (await t.server.inject({ method: 'GET', url: '/migrator/jobs/current', headers: adminHeaders })).result;
            }

            expect(job.status, job.error).to.equal('succeeded');
            expect(Number(job.report.rejectedRows)).to.be.above(0);
            expect(String(job.report.rejectFile)).to.startWith(Path.join(ROOT, 'data', 'migration-rejects-'));
            const lines = Fs.readFileSync(job.report.rejectFile, 'utf8').trim().split('\n');
            expect(lines).to.have.length(job.report.rejectedRows);
            expect(lines.map((line) => JSON.parse(line)).find((line) => line.key.id === latin1Resource).bytes).to.equal({ description: latin1 });
            expect(job.report.invalidValues.some((value: { reason: string }) => /not valid UTF-8/.test(value.reason))).to.be.true();
            Fs.rmSync(job.report.rejectFile);
        }
        finally {
            await t.stop();
        }
    });
});
