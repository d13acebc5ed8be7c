import { execFile } from 'node:child_process';
import Fs from 'node:fs';
import Path from 'node:path';
import { promisify } from 'node:util';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { tempBackupDir, PG_TOOL_PATH } from '../helpers/backup';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const ROOT = Path.resolve(__dirname, '..', '..');

describe('scripts/backup.ts', () => {

    let database: TestDatabase;
    let dir: string;

    const cli = async (...args: string[]) => {

        try {
            const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/backup.ts', ...args], {
                cwd: ROOT,
                env: { PATH: PG_TOOL_PATH, DATABASE_URL: database.url, BACKUP_DIR: dir, NODE_ENV: 'test' },
                timeout: 60_000
            });
            return { code: 0, stdout, stderr };
        }
        catch (error: any) {
            return { code: error.code as number, stdout: error.stdout as string, stderr: error.stderr as string };
        }
    };

    before(async () => {

        database = await createTestDatabase();
        dir = tempBackupDir();
    });

    after(async () => {

        await database.cleanup();
        Fs.rmSync(dir, { recursive: true, force: true });
    });

    it('creates, lists and verifies a backup with plain progress lines when not on a terminal', { timeout: 90_000 }, async () => {

        const created = await cli('create');
        expect(created.code, created.stderr).to.equal(0);
        const manifest = JSON.parse(created.stdout);
        expect(manifest.sha256).to.match(/^[0-9a-f]{64}$/);
        expect(created.stderr).to.match(/computing the checksum/);

        const listed = await cli('list');
        expect(JSON.parse(listed.stdout).map((entry: { name: string }) => entry.name)).to.equal([manifest.name]);

        const verified = await cli('verify', manifest.name);
        expect(verified.code, verified.stderr).to.equal(0);
        expect(JSON.parse(verified.stdout).ok).to.be.true();
    });

    it('refuses bad names, unconfirmed restores and unknown commands with a clear message', { timeout: 60_000 }, async () => {

        const traversal = await cli('verify', '../../etc/passwd');
        expect(traversal.code).to.equal(1);
        expect(traversal.stderr).to.contain('is not a backup name');

        const unconfirmed = await cli('restore', 'neo-alexandria_x_20260101T000000Z.dump');
        expect(unconfirmed.code).to.equal(2);
        expect(unconfirmed.stderr).to.contain('to restore, pass --confirm');

        const unknown = await cli('frobnicate');
        expect(unknown.code).to.equal(2);
        expect(unknown.stderr).to.contain('usage: backup');
    });
});
