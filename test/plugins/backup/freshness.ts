import Fs from 'node:fs';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { backupFreshness } from '../../../plugins/backup/freshness';
import type { BackupEntry } from '../../../plugins/backup/engine';
import { tempBackupDir } from '../../helpers/backup';
import { adminHeaders, createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const HOUR = 3600_000;
const NOW = Date.parse('2026-12-04T12:00:00Z');

const entry = (name: string, hoursAgo: number, verified?: boolean): BackupEntry => ({
    name,
    format: 'sqlite',
    createdAt: new Date(NOW - hoursAgo * HOUR).toISOString(),
    size: 1,
    manifest: verified === undefined ? null : { verification: { ok: verified, at: '', detail: '' } } as any
});

describe('backup: freshness', () => {

    it('reports the newest and the newest verified backup against the thresholds', () => {

        const thresholds = { maxAgeHours: 26, verifiedMaxAgeHours: 48 };
        const fresh = backupFreshness([entry('b', 30, true), entry('a', 2, false), entry('c', 100, true)], thresholds, NOW);
        expect(fresh.newest).to.equal({ name: 'a', created_at: new Date(NOW - 2 * HOUR).toISOString(), age_s: 7200 });
        expect(fresh.newest_verified!.name).to.equal('b');
        expect(fresh.stale).to.be.false();
        expect(fresh.verified_stale).to.be.false();

        const old = backupFreshness([entry('a', 27, false), entry('b', 49, true)], thresholds, NOW);
        expect(old.stale).to.be.true();
        expect(old.verified_stale).to.be.true();

        const none = backupFreshness([], thresholds, NOW);
        expect(none.newest).to.be.null();
        expect(none.stale).to.be.true();
        expect(none.verified_stale).to.be.true();

        const off = backupFreshness([], { maxAgeHours: 0, verifiedMaxAgeHours: 0 }, NOW);
        expect(off.stale).to.be.false();
        expect(off.verified_stale).to.be.false();
    });

    describe('GET /backups/freshness, the panel and /metrics', () => {

        let t: TestServer;
        let dir: string;

        before(async () => {

            dir = tempBackupDir();
            t = await createTestServer({ BACKUP_DIR: dir, BACKUP_MAX_AGE_HOURS: '1', BACKUP_VERIFIED_MAX_AGE_HOURS: '2' });
        });

        after(async () => {

            await t.stop();
            Fs.rmSync(dir, { recursive: true, force: true });
        });

        it('warns before the first backup, then reports its age', { timeout: 60_000 }, async () => {

            expect((await t.server.inject('/backups/freshness')).statusCode).to.equal(401);
            const before = (await t.server.inject({ url: '/backups/freshness', headers: adminHeaders })).result as any;
            expect(before).to.equal({ newest: null, newest_verified: null, max_age_hours: 1, verified_max_age_hours: 2, stale: true, verified_stale: true });
            const panel = await t.server.inject({ url: '/console/panels/backups', headers: adminHeaders });
            expect(panel.payload).to.contain('over 1 h: take a backup');

            const started = await t.server.inject({ method: 'POST', url: '/backups', headers: adminHeaders, payload: {} });
            expect(started.statusCode, started.payload).to.equal(202);
            const id = (started.result as any).job.id;
            for (let i = 0; i < 600; ++i) {
                const job = (await t.server.inject({ url: `/backup-jobs/${id}`, headers: adminHeaders })).result as any;
                if (job.state !== 'running') {
                    expect(job.state, job.error).to.equal('succeeded');
                    break;
                }

                await new Promise((resolve) => setTimeout(resolve, 50));
            }

            const after = (await t.server.inject({ url: '/backups/freshness', headers: adminHeaders })).result as any;
            expect(after.stale).to.be.false();
            expect(Number(after.newest.age_s)).to.be.below(120);
            expect(after.verified_stale).to.be.true();

            const metrics = (await t.server.inject({ url: '/metrics', headers: adminHeaders })).payload;
            expect(metrics).to.match(/^na_backup_newest_age_seconds \d+$/m);
            expect(metrics).to.contain('na_backup_max_age_seconds 3600');
            expect(metrics).to.contain('na_backup_verified_max_age_seconds 7200');
            expect(metrics).to.contain('na_backup_newest_verified_age_seconds +Inf');
        });
    });
});
