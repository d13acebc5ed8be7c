import { execFile } from 'node:child_process';
import Fs from 'node:fs';
import Path from 'node:path';
import { promisify } from 'node:util';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { backupEngine, filesIn, tempBackupDir, PG_TOOL_PATH } from '../helpers/backup';
import { createTestDatabase, postgresOnly, type TestDatabase } from '../helpers/database';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const SCRIPT = Path.resolve(__dirname, '..', '..', 'scripts', 'backup_postgresql.sh');
const run = promisify(execFile);

interface ScriptResult {
    code: number;
    stdout: string;
    stderr: string;
}

async function runScript(env: Record<string, string>): Promise<ScriptResult> {

    try {
        const { stdout, stderr } = await run('/bin/bash', [SCRIPT], { env: { PATH: PG_TOOL_PATH, ...env }, timeout: 60_000 });
        return { code: 0, stdout, stderr };
    }
    catch (error: any) {
        return { code: error.code, stdout: error.stdout, stderr: error.stderr };
    }
}

function backdate(path: string, days: number): void {

    const when = new Date(Date.now() - days * 86_400_000);
    Fs.utimesSync(path, when, when);
}

describe('scripts/backup_postgresql.sh', () => {

    let database: TestDatabase;
    const dirs: string[] = [];
    const newDir = () => {

        const dir = tempBackupDir();
        dirs.push(dir);
        return dir;
    };

    before(async () => {

        database = await createTestDatabase();
    });

    after(async () => {

        await database.cleanup();
        dirs.forEach((dir) => Fs.rmSync(dir, { recursive: true, force: true }));
    });

    it('postgres only: writes a custom-format dump pg_restore reads, compresses older plain dumps and prunes beyond the retention', { ...postgresOnly, timeout: 60_000 }, async () => {

        const dir = newDir();
        const label = new URL(database.url).pathname.slice(1);
        const name = (stamp: string, ext: string) => `neo-alexandria_${label}_${stamp}.${ext}`;
        const old = [name('20250101T000000Z', 'dump'), name('20250102T000000Z', 'sql.gz')];
        const recent = name('20261120T000000Z', 'dump');
        const plain = name('20261121T000000Z', 'sql');
        const foreign = 'notes-from-the-operator.txt';
        for (const file of [...old, recent, plain, foreign, `${old[0]}.json`]) {
            Fs.writeFileSync(Path.join(dir, file), 'x');
        }

        old.forEach((file) => backdate(Path.join(dir, file), 9));
        backdate(Path.join(dir, `${old[0]}.json`), 9);
        backdate(Path.join(dir, recent), 3);
        backdate(Path.join(dir, plain), 2);
        backdate(Path.join(dir, foreign), 30);

        // The password is ignored by trust authentication; it must still never reach argv.
        const url = new URL(database.url);
        url.password = 'not-on-argv';
        const result = await runScript({ DATABASE_URL: url.toString(), BACKUP_DIR: dir, BACKUP_RETENTION_DAYS: '7' });
        expect(result.code, result.stderr).to.equal(0);
        expect(result.stdout).to.contain('pg_restore --list reads the dump');
        expect(result.stdout).to.not.contain('not-on-argv');

        const files = filesIn(dir);
        const dump = files.find((file) => /_\d{8}T\d{6}Z\.dump$/.test(file) && file !== recent)!;
        expect(dump).to.exist();
        expect(files.sort()).to.equal([dump, foreign, recent, `${plain}.gz`].sort());
        expect(result.stdout).to.contain(`deleted ${old[0]} (older than 7 days)`);
        expect(result.stdout).to.contain(`compressed ${plain} to ${plain}.gz`);
        // gzip keeps the modification time, so retention still counts from the original dump.
        expect(Fs.statSync(Path.join(dir, `${plain}.gz`)).mtimeMs).to.be.below(Date.now() - 86_400_000);

        const { stdout: listing } = await run('pg_restore', ['--list', Path.join(dir, dump)], { env: { PATH: PG_TOOL_PATH } });
        expect(listing).to.contain('TABLE DATA public resources');

        // The server plugin lists the script's dumps (without a manifest) and can verify them.
        Fs.rmSync(Path.join(dir, recent));
        const engine = backupEngine(database.url, dir);
        const entry = (await engine.list()).find((candidate) => candidate.name === dump)!;
        expect(entry.manifest).to.be.null();
        const report = await engine.verify(dump);
        expect(report.ok).to.be.true();
        expect(report.checksum).to.equal('not recorded');
        expect(report.tables.resources!.actual).to.equal(0);
    });

    it('postgres only: fails with a clear message and no partial file when the database cannot be dumped', { ...postgresOnly, timeout: 60_000 }, async () => {

        const dir = newDir();
        const url = new URL(database.url);
        const missing = await runScript({ PGHOST: url.hostname, PGPORT: url.port, PGUSER: 'postgres', PGDATABASE: 'na_backup_does_not_exist', BACKUP_DIR: dir });
        expect(missing.code).to.equal(5);
        expect(missing.stderr).to.contain('pg_dump failed');
        expect(missing.stderr).to.contain('database "na_backup_does_not_exist" does not exist');
        expect(filesIn(dir)).to.equal([]);

        const noTools = Fs.mkdtempSync(Path.join(dir, 'bin-'));
        for (const tool of ['date', 'id', 'mkdir', 'tr', 'cut', 'rm']) {
            Fs.symlinkSync(`/usr/bin/${tool}`, Path.join(noTools, tool));
        }

        const withoutTools = await runScript({ PATH: noTools, DATABASE_URL: database.url, BACKUP_DIR: Path.join(dir, 'out') });
        expect(withoutTools.code).to.equal(3);
        expect(withoutTools.stderr).to.contain('pg_dump was not found on the PATH');
        expect(filesIn(Path.join(dir, 'out'))).to.equal([]);

        const badUrl = await runScript({ DATABASE_URL: 'mysql://root@localhost/db', BACKUP_DIR: dir });
        expect(badUrl.code).to.equal(2);
        expect(badUrl.stderr).to.contain('DATABASE_URL must look like postgres://');

        const badDays = await runScript({ DATABASE_URL: database.url, BACKUP_DIR: dir, BACKUP_RETENTION_DAYS: 'forever' });
        expect(badDays.code).to.equal(2);
    });
});
