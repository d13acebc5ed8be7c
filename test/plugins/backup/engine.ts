import Fs from 'node:fs';
import Path from 'node:path';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import Knex, { type Knex as KnexType } from 'knex';
import Sqlite3 from 'sqlite3';

import { BackupError } from '../../../plugins/backup/errors';
import { manifestName, nameLabel } from '../../../plugins/backup/names';
import { createDatabaseEngine } from '../../../server/db/engine';
import { seedConfig } from '../../../server/db/migrations';
import type { DatabaseEngine } from '../../../server/db/types';
import { isDerivedSearchTable } from '../../../server/search/storage';
import { backupEngine, fakeTool, filesIn, scratchDatabaseName, tableChecksums, tempBackupDir, PG_TOOL_PATH } from '../../helpers/backup';
import { createTestDatabase, ensurePostgresDatabase, postgresOnly, sqliteOnly, type TestDatabase } from '../../helpers/database';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const rejection = async (promise: Promise<unknown>): Promise<BackupError> => {

    const error = await expect(promise).to.reject(BackupError);
    return error as BackupError;
};

describe('backup engine', () => {

    let database: TestDatabase;
    let db: DatabaseEngine;
    const dirs: string[] = [];
    const newDir = () => {

        const dir = tempBackupDir();
        dirs.push(dir);
        return dir;
    };

    before(async () => {

        database = await createTestDatabase();
        db = createDatabaseEngine(database.url, { min: 0, max: 4 });
        await db.knex.seed.run(seedConfig);
    });

    after(async () => {

        await db.destroy();
        await database.cleanup();
        dirs.forEach((dir) => Fs.rmSync(dir, { recursive: true, force: true }));
    });

    it('creates a backup with a manifest, lists it and verifies it by restoring it into a scratch copy', { timeout: 60_000 }, async () => {

        const dir = newDir();
        const engine = backupEngine(database.url, dir);
        const phases: string[] = [];
        const manifest = await engine.create({ onProgress: (progress) => phases.push(progress.phase) });

        expect(manifest.name).to.match(/^neo-alexandria_([A-Za-z0-9_-]+_)?\d{8}T\d{6}Z_[0-9a-f]{8}\.(dump|sqlite3)$/);
        expect(manifest.format).to.equal(engine.defaultFormat);
        expect(manifest.sha256).to.match(/^[0-9a-f]{64}$/);
        const stat = Fs.statSync(Path.join(dir, manifest.name));
        expect(manifest.size).to.equal(stat.size);
        expect(stat.mode & 0o777).to.equal(0o600);
        expect(manifest.tables.resources).to.equal(300);
        expect(manifest.serverVersion).to.match(/^(PostgreSQL|SQLite) \d+/);
        expect(phases).to.not.be.empty();
        // Only the backup and its manifest: no partial or temporary file left.
        expect(filesIn(dir)).to.equal([manifest.name, manifestName(manifest.name)]);

        const [entry] = await engine.list();
        expect(entry!.name).to.equal(manifest.name);
        expect(entry!.manifest!.sha256).to.equal(manifest.sha256);

        const report = await engine.verify(manifest.name);
        expect(report.problems).to.equal([]);
        expect(report.ok).to.be.true();
        expect(report.checksum).to.equal('ok');
        expect(report.tables.resources).to.equal({ expected: 300, actual: 300 });
        const [verified] = await engine.list();
        expect(verified!.manifest!.verification!.ok).to.be.true();
    });

    it('restores one table whose rows were deleted, leaving the others as they are', { timeout: 60_000 }, async () => {

        const engine = backupEngine(database.url, newDir());
        const before = await tableChecksums(db.knex, db.type);
        const manifest = await engine.create();
        expect((await engine.verify(manifest.name)).ok).to.be.true();

        await db.knex('annotations').delete();
        expect(await count(db.knex, 'annotations')).to.equal(0);
        await db.knex('users').update({ display_name: 'changed after the backup' });

        const report = await engine.restore(manifest.name, { tables: ['annotations'] });
        expect(report).to.equal({ mode: 'partial', tables: { annotations: manifest.tables.annotations } });
        expect(await count(db.knex, 'annotations')).to.equal(manifest.tables.annotations!);

        const after = await tableChecksums(db.knex, db.type);
        expect(after.annotations).to.equal(before.annotations);
        // Tables that were not chosen keep their current rows.
        expect(after.users).to.not.equal(before.users);
        await engine.restore(manifest.name, { tables: ['users'] });
        expect(await tableChecksums(db.knex, db.type)).to.equal(before);
    });

    it('restores a parent table without losing the rows that reference it, and keeps search in step', { timeout: 60_000 }, async () => {

        const engine = backupEngine(database.url, newDir());
        const before = await tableChecksums(db.knex, db.type);
        const manifest = await engine.create();

        const victim = await db.knex('resources').first('id', 'title').orderBy('id');
        await db.knex('resources').update({ title: 'Overwritten title' });
        const searchable = async (word: string) => {

            if (db.type === 'postgres') {
                const { rows } = await db.knex.raw('SELECT count(*)::int AS n FROM resources WHERE search_vector @@ plainto_tsquery(\'english\', ?)', [word]);
                return rows[0].n as number;
            }

            const [row] = await db.knex.raw('SELECT count(*) AS n FROM resources_fts WHERE resources_fts MATCH ?', [`"${word}"`]);
            return row.n as number;
        };

        expect(await searchable('overwritten')).to.equal(300);
        await engine.restore(manifest.name, { tables: ['resources'] });
        expect(await searchable('overwritten')).to.equal(0);
        expect((await db.knex('resources').where({ id: victim!.id }).first('title')).title).to.equal(victim!.title);
        // Primary data is back exactly. Derived search data is proven in step by
        // the searches above: it is maintained incrementally (change sequences
        // for champion lists differ from the backup's by design).
        const primary = (sums: Record<string, string>) => Object.fromEntries(Object.entries(sums).filter(([table]) => !isDerivedSearchTable(db.type, table)));
        expect(primary(await tableChecksums(db.knex, db.type))).to.equal(primary(before));
    });

    it('rolls a partial restore back when it would break a foreign key, changing nothing', { timeout: 60_000 }, async () => {

        const engine = backupEngine(database.url, newDir());
        const manifest = await engine.create();
        const original = await tableChecksums(db.knex, db.type);

        // Collections reference users; with the users gone, the backup's
        // collections would point at owners that no longer exist.
        const owners = await db.knex('collections').whereNotNull('owner_id').distinct('owner_id').pluck('owner_id');
        expect(owners).to.not.be.empty();
        await db.knex('collections').delete();
        await db.knex('users').whereIn('id', owners).delete();
        const before = await tableChecksums(db.knex, db.type);

        const error = await rejection(engine.restore(manifest.name, { tables: ['collections'] }));
        expect(error.message).to.match(/partial restore failed, nothing was changed: .*(foreign key|FOREIGN KEY)/);
        expect(await tableChecksums(db.knex, db.type)).to.equal(before);

        // Restoring the parents with the children works, in either order given.
        await engine.restore(manifest.name, { tables: ['collections', 'users'] });
        const after = await tableChecksums(db.knex, db.type);
        expect(after.users).to.equal(original.users);
        expect(after.collections).to.equal(original.collections);
    });

    it('sqlite only: refuses to restore derived search tables on their own', { ...sqliteOnly, timeout: 60_000 }, async () => {

        const engine = backupEngine(database.url, newDir());
        const manifest = await engine.create();
        const error = await rejection(engine.restore(manifest.name, { tables: ['resource_search_docs'] }));
        expect(error.message).to.contain('derived search data');
    });

    it('refuses names that are not listed backups, whatever they look like', async () => {

        const dir = newDir();
        const engine = backupEngine(database.url, dir);
        Fs.writeFileSync(Path.join(dir, 'secret.txt'), 'not a backup');

        for (const name of ['../../etc/passwd', '/etc/passwd', 'secret.txt', '', 'neo-alexandria_x_20260101T000000Z.dump/../../x']) {
            const error = await rejection(engine.verify(name));
            expect(error.kind, name).to.equal('invalid');
            expect(error.message).to.contain('not a backup name');
        }

        const missing = await rejection(engine.restore('neo-alexandria_other_20260101T000000Z.dump'));
        expect(missing.kind).to.equal('not-found');
        // Another database's backup in the same directory is not this database's to restore.
        Fs.writeFileSync(Path.join(dir, 'neo-alexandria_other_20260101T000000Z.dump'), 'x');
        expect((await rejection(engine.restore('neo-alexandria_other_20260101T000000Z.dump'))).kind).to.equal('not-found');
        expect(await engine.list()).to.equal([]);
    });

    it('refuses to restore a backup whose file no longer matches its checksum', { timeout: 60_000 }, async () => {

        const dir = newDir();
        const engine = backupEngine(database.url, dir);
        const manifest = await engine.create();
        const path = Path.join(dir, manifest.name);
        const bytes = Fs.readFileSync(path);
        bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
        Fs.writeFileSync(path, bytes);

        const report = await engine.verify(manifest.name);
        expect(report.ok).to.be.false();
        expect(report.checksum).to.equal('mismatch');
        const error = await rejection(engine.restore(manifest.name, { tables: ['users'] }));
        expect(error.message).to.contain('does not match the checksum');
        expect((await engine.list())[0]!.manifest!.verification!.ok).to.be.false();
    });

    it('validates the tables of a partial restore against the backup', { timeout: 60_000 }, async () => {

        const engine = backupEngine(database.url, newDir());
        const manifest = await engine.create();
        expect((await rejection(engine.restore(manifest.name, { tables: ['nope'] }))).message).to.contain('not tables of this backup: nope');
        expect((await rejection(engine.restore(manifest.name, { tables: [] }))).kind).to.equal('invalid');
        expect((await rejection(engine.restore(manifest.name, { tables: ['users', 'users'] }))).kind).to.equal('invalid');
    });

    it('says which directory it cannot write to', async () => {

        const dir = newDir();
        const blocker = Path.join(dir, 'a-file');
        Fs.writeFileSync(blocker, '');
        const error = await rejection(backupEngine(database.url, Path.join(blocker, 'backups')).create());
        expect(error.message).to.contain(`cannot write to the backup directory ${Path.join(blocker, 'backups')} (BACKUP_DIR)`);
        expect(filesIn(dir)).to.equal(['a-file']);
    });

    it('runs one operation at a time', { timeout: 60_000 }, async () => {

        const engine = backupEngine(database.url, newDir());
        const first = engine.create();
        expect(engine.busy()).to.equal('create');
        expect((await rejection(engine.prune())).kind).to.equal('conflict');
        await first;
        expect(engine.busy()).to.be.null();
    });

    it('gives two backups taken in the same second different names, and lists older names too', { timeout: 60_000 }, async () => {

        const dir = newDir();
        const at = new Date('2026-11-24T12:00:00.500Z');
        const engine = backupEngine(database.url, dir, { now: () => at });
        const label = nameLabel(engine.database);
        const ext = engine.defaultFormat === 'sqlite' ? 'sqlite3' : 'dump';
        const older = `neo-alexandria_${engine.database.replace(/[^A-Za-z0-9_-]/g, '-')}_20261123T120000Z.${ext}`;
        Fs.writeFileSync(Path.join(dir, older), 'an earlier backup');

        const first = await engine.create({ unique: '00000001' });
        const second = await engine.create();
        expect(first.name).to.equal(`neo-alexandria_${label ? `${label}_` : ''}20261124T120000Z_00000001.${ext}`);
        expect(second.name).to.match(/_20261124T120000Z_[0-9a-f]{8}\.(dump|sqlite3)$/);
        expect(second.name).to.not.equal(first.name);
        expect((await engine.list()).map((entry) => entry.name)).to.equal([second.name, first.name, older].sort((a, b) => (a === older ? 1 : b === older ? -1 : b.localeCompare(a))));
        expect((await rejection(engine.create({ unique: '00000001' }))).kind).to.equal('conflict');
    });

    it('prunes by the retention policy and never deletes the newest backup', async () => {

        const dir = newDir();
        const now = new Date('2026-11-24T12:00:00Z');
        const engine = backupEngine(database.url, dir, { now: () => now, retention: { keepLast: 2, daily: 3, weekly: 0, monthly: 2, maxAgeDays: 0 } });
        const label = engine.database.replace(/[^A-Za-z0-9_-]/g, '-');
        const ext = engine.defaultFormat === 'sqlite' ? 'sqlite3' : 'dump';
        const stamps = ['20261124T110000Z', '20261124T100000Z', '20261124T090000Z', '20261123T230000Z', '20261122T230000Z', '20261121T230000Z', '20261031T230000Z', '20261015T230000Z', '20260930T230000Z'];
        for (const stamp of stamps) {
            Fs.writeFileSync(Path.join(dir, `neo-alexandria_${label}_${stamp}.${ext}`), stamp);
        }

        const name = (stamp: string) => `neo-alexandria_${label}_${stamp}.${ext}`;
        const preview = await engine.prune({ dryRun: true });
        expect(preview.dryRun).to.be.true();
        // Last 2; newest of the last 3 days (24, 23, 22); newest of the last 2 months (Nov, Oct).
        expect(preview.keep.map((entry) => entry.name)).to.equal(['20261124T110000Z', '20261124T100000Z', '20261123T230000Z', '20261122T230000Z', '20261031T230000Z'].map(name));
        expect(preview.remove).to.equal(['20261124T090000Z', '20261121T230000Z', '20261015T230000Z', '20260930T230000Z'].map(name));
        expect(filesIn(dir)).to.have.length(stamps.length);

        const pruned = await engine.prune();
        expect(pruned.remove).to.equal(preview.remove);
        expect(filesIn(dir)).to.equal(preview.keep.map((entry) => entry.name).sort());

        const aged = backupEngine(database.url, dir, { now: () => now, retention: { keepLast: 1, daily: 7, weekly: 4, monthly: 6, maxAgeDays: 10 } });
        // 10:00 is in no bucket any more; 31 October is in two but older than 10 days.
        expect((await aged.prune()).remove).to.equal([name('20261124T100000Z'), name('20261031T230000Z')]);
    });

    it('sqlite only: takes a consistent online backup while writes are running', { ...sqliteOnly, timeout: 60_000 }, async () => {

        const dir = newDir();
        const engine = backupEngine(database.url, dir);
        const writer = createDatabaseEngine(database.url);
        const baseResources = await count(db.knex, 'resources');
        const baseAnnotations = await count(db.knex, 'annotations');
        let writes = 0;
        let stop = false;

        // Each transaction adds a resource and an annotation on it: any
        // consistent snapshot has exactly as many new annotations as new resources.
        const writing = (async () => {

            while (!stop) {
                await writer.knex.transaction(async (trx) => {

                    const id = `00000000-0000-4000-8000-${String(writes).padStart(12, '0')}`;
                    await trx('resources').insert({ id, title: `Written during the backup ${writes}` });
                    await trx('annotations').insert({ id: id.replace(/^0/, 'a'), resource_id: id, start_offset: 0, end_offset: 1, highlighted_text: 'W' });
                });
                ++writes;
            }
        })();

        try {
            while (writes < 20) {
                await new Promise((resolve) => setImmediate(resolve));
            }

            const manifest = await engine.create();
            const during = writes;
            while (writes < during + 20) {
                await new Promise((resolve) => setImmediate(resolve));
            }

            stop = true;
            await writing;

            const added = manifest.tables.resources! - baseResources;
            expect(added).to.be.above(0);
            expect(added).to.be.below(writes + 1);
            expect(manifest.tables.annotations! - baseAnnotations).to.equal(added);
            expect(manifest.tables.resource_search_docs).to.equal(manifest.tables.resources);

            const file = await openSqlite(Path.join(dir, manifest.name));
            try {
                expect(await sqliteAll(file, 'PRAGMA integrity_check')).to.equal([{ integrity_check: 'ok' }]);
                expect(await sqliteAll(file, 'PRAGMA foreign_key_check')).to.equal([]);
                expect(await sqliteAll(file, 'SELECT count(*) AS n FROM resources')).to.equal([{ n: manifest.tables.resources }]);
                expect(await sqliteAll(file, 'PRAGMA journal_mode')).to.equal([{ journal_mode: 'delete' }]);
            }
            finally {
                await new Promise((resolve) => file.close(resolve));
            }

            expect((await engine.verify(manifest.name)).ok).to.be.true();
        }
        finally {
            stop = true;
            await writing;
            await writer.knex('annotations').where('id', 'like', 'a0000000-%').delete();
            await writer.knex('resources').where('id', 'like', '00000000-0000-4000-8000-%').delete();
            await writer.destroy();
        }
    });

    it('sqlite only: restores the whole database file online and refuses an in-memory database', { ...sqliteOnly, timeout: 60_000 }, async () => {

        const engine = backupEngine(database.url, newDir());
        const before = await tableChecksums(db.knex, db.type);
        const manifest = await engine.create();
        await db.knex('collections').delete();
        await db.knex('resources').where('quality_score', '<', 0.5).delete();
        expect(await tableChecksums(db.knex, db.type)).to.not.equal(before);

        const report = await engine.restore(manifest.name);
        expect(report.mode).to.equal('full');
        // The server's own connection sees the restored data at once.
        expect(await tableChecksums(db.knex, db.type)).to.equal(before);
        expect((await db.knex.raw('PRAGMA integrity_check'))[0].integrity_check).to.equal('ok');

        const memory = backupEngine('sqlite::memory:', newDir());
        expect((await rejection(memory.create())).message).to.contain('in-memory');
    });

    describe('with the PostgreSQL client tools', () => {

        let source: string;
        const scratch: string[] = [];

        before(() => {

            source = database.url;
        });

        after(async () => {

            if (!scratch.length) {
                return;
            }

            const admin = Knex({ client: 'pg', connection: source, pool: { min: 0, max: 1 } });
            for (const name of scratch) {
                await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
            }

            await admin.destroy();
        });

        const newDatabase = async (label: string) => {

            const name = scratchDatabaseName(label);
            scratch.push(name);
            const url = new URL(source);
            url.pathname = `/${name}`;
            await ensurePostgresDatabase(url.toString());
            return url.toString();
        };

        it('postgres only: a full restore into a new database equals the source, table by table', { ...postgresOnly, timeout: 90_000 }, async () => {

            const engine = backupEngine(source, newDir());
            for (const format of ['custom', 'plain', 'plain-gzip'] as const) {
                const manifest = await engine.create({ format });
                expect(manifest.name.endsWith({ custom: '.dump', plain: '.sql', 'plain-gzip': '.sql.gz' }[format])).to.be.true();
                const target = await newDatabase('full');
                const report = await engine.restore(manifest.name, { into: target });
                expect(report.tables).to.equal(manifest.tables);

                const copy = createDatabaseEngine(target, { min: 0, max: 1 });
                try {
                    expect(await tableChecksums(copy.knex, 'postgres'), format).to.equal(await tableChecksums(db.knex, 'postgres'));
                    const { rows } = await copy.knex.raw('SELECT tgname FROM pg_trigger WHERE tgname = \'resources_search_vector_trigger\'');
                    expect(rows).to.have.length(1);
                }
                finally {
                    await copy.destroy();
                }
            }
        });

        it('postgres only: a full restore over the live database brings back every table in one transaction', { ...postgresOnly, timeout: 60_000 }, async () => {

            const engine = backupEngine(source, newDir());
            const before = await tableChecksums(db.knex, 'postgres');
            const manifest = await engine.create({ format: 'plain-gzip' });
            await db.knex('graph_edges').delete();
            await db.knex('taxonomy_nodes').delete();

            expect((await engine.restore(manifest.name)).mode).to.equal('full');
            expect(await tableChecksums(db.knex, 'postgres')).to.equal(before);

            // A restore that fails half-way leaves the database as it was.
            const broken = backupEngine(source, newDir(), { toolPath: fakeTool(newDir(), 'pg_restore', 'echo "pg_restore: error: could not execute query: ERROR:  out of memory" >&2; exit 1') + ':' + PG_TOOL_PATH });
            const custom = await broken.create();
            await db.knex('graph_edges').delete();
            const after = await tableChecksums(db.knex, 'postgres');
            const error = await rejection(broken.restore(custom.name));
            expect(error.message).to.contain('pg_restore failed (exit code 1): pg_restore: error: could not execute query');
            expect(await tableChecksums(db.knex, 'postgres')).to.equal(after);
            await engine.restore(manifest.name);
            expect(await tableChecksums(db.knex, 'postgres')).to.equal(before);
        });

        it('postgres only: the manifest counts are those of the dump even while writes are running', { ...postgresOnly, timeout: 60_000 }, async () => {

            const engine = backupEngine(source, newDir());
            let stop = false;
            let writes = 0;
            const writing = (async () => {

                while (!stop) {
                    await db.knex('users').insert({ email: `writer-${writes++}@example.org` });
                }
            })();

            try {
                const manifest = await engine.create();
                const report = await engine.verify(manifest.name);
                expect(report.problems).to.equal([]);
                expect(writes).to.be.above(0);
            }
            finally {
                stop = true;
                await writing;
                await db.knex('users').where('email', 'like', 'writer-%').delete();
            }
        });

        it('postgres only: a partial restore needs a custom-format backup', { ...postgresOnly, timeout: 60_000 }, async () => {

            const engine = backupEngine(source, newDir());
            const manifest = await engine.create({ format: 'plain' });
            const error = await rejection(engine.restore(manifest.name, { tables: ['users'] }));
            expect(error.kind).to.equal('unsupported');
            expect(error.message).to.contain('needs a custom-format backup');
            expect((await rejection(engine.create({ format: 'sqlite' }))).kind).to.equal('invalid');
        });

        it('postgres only: without pg_dump on the PATH the backup fails clearly and leaves no file', postgresOnly, async () => {

            const dir = newDir();
            const engine = backupEngine(source, dir, { toolPath: '/nonexistent' });
            const error = await rejection(engine.create());
            expect(error.kind).to.equal('tool');
            expect(error.message).to.contain('pg_dump was not found on the PATH');
            expect(error.message).to.contain('BACKUP_PG_BIN_DIR');
            expect(filesIn(dir)).to.equal([]);
        });

        it('postgres only: a pg_dump older than the server is refused before it runs', postgresOnly, async () => {

            const dir = newDir();
            const tools = fakeTool(newDir(), 'pg_dump', 'echo "pg_dump (PostgreSQL) 11.22"');
            const error = await rejection(backupEngine(source, dir, { toolPath: `${tools}:${PG_TOOL_PATH}` }).create());
            expect(error.kind).to.equal('tool');
            expect(error.message).to.match(/pg_dump 11 cannot dump a PostgreSQL 1\d server/);
            expect(filesIn(dir)).to.equal([]);
        });

        it('postgres only: a dump that fails half-way (disk full) leaves no partial file and no manifest', postgresOnly, async () => {

            const dir = newDir();
            // Stands in for pg_dump: reports version 15, otherwise writes half
            // a file and fails the way pg_dump does on a full disk.
            const tools = fakeTool(newDir(), 'pg_dump', [
                'case "$1" in --version) echo "pg_dump (PostgreSQL) 15.20"; exit 0;; esac',
                'for arg in "$@"; do case "$arg" in --file=*) printf "PGDMP partial" > "${arg#--file=}";; esac; done',
                'echo "pg_dump: error: could not write to output file: No space left on device" >&2',
                'exit 1'
            ].join('\n'));
            const error = await rejection(backupEngine(source, dir, { toolPath: `${tools}:${PG_TOOL_PATH}` }).create());
            expect(error.message).to.contain('No space left on device');
            expect(filesIn(dir)).to.equal([]);
        });

        it('postgres only: a connection failure says why and never shows the password', postgresOnly, async () => {

            const dir = newDir();
            const url = new URL(source);
            url.username = 'na_backup_no_such_role';
            url.password = 'hunter2-secret';
            const error = await rejection(backupEngine(url.toString(), dir).create());
            expect(error.message).to.contain('cannot connect to the database');
            expect(error.message).to.contain('na_backup_no_such_role');
            expect(error.message).to.not.contain('hunter2');
            expect(filesIn(dir)).to.equal([]);
        });

        it('postgres only: passes the password in the environment, never on the command line', postgresOnly, async () => {

            const dir = newDir();
            const log = Path.join(dir, '..', `${Path.basename(dir)}-argv.txt`);
            dirs.push(log);
            const tools = fakeTool(newDir(), 'pg_dump', `echo "$@ PGPASSWORD=$PGPASSWORD" >> ${log}; case "$1" in --version) echo "pg_dump (PostgreSQL) 15.20";; *) exit 3;; esac`);
            const url = new URL(source);
            url.password = 'pw-in-env-only';
            await rejection(backupEngine(url.toString(), dir, { toolPath: `${tools}:${PG_TOOL_PATH}` }).create());
            const lines = Fs.readFileSync(log, 'utf8').trim().split('\n');
            expect(lines).to.have.length(2);
            for (const line of lines) {
                const [argv, env] = line.split(' PGPASSWORD=');
                expect(argv).to.not.contain('pw-in-env-only');
                expect(env).to.equal('pw-in-env-only');
            }
        });
    });
});

async function count(knex: KnexType, table: string): Promise<number> {

    const [{ n }] = await knex(table).count({ n: '*' });
    return Number(n);
}

function openSqlite(filename: string): Promise<Sqlite3.Database> {

    return new Promise((resolve, reject) => {

        const db: Sqlite3.Database = new Sqlite3.Database(filename, Sqlite3.OPEN_READONLY, (error) => (error ? reject(error) : resolve(db)));
    });
}

function sqliteAll(db: Sqlite3.Database, sql: string): Promise<unknown[]> {

    return new Promise((resolve, reject) => db.all(sql, (error, rows) => (error ? reject(error) : resolve(rows))));
}
