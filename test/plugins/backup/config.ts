import Path from 'node:path';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { ConfigError, loadConfig } from '../../../server/config';

export const lab = Lab.script();
const { describe, it } = lab;

const root = Path.resolve(__dirname, '..', '..', '..');

describe('backup settings', () => {

    it('defaults to keeping 3 last, 7 daily, 4 weekly, 6 monthly backups, no age limit, 2 restore jobs, freshness warnings at 26 h and 8 days', () => {

        const config = loadConfig({ PATH: '/usr/bin:/bin' }, root);
        expect(config.backupDir).to.equal(Path.join(root, 'backups'));
        expect(config.backup).to.equal({
            toolPath: '/usr/bin:/bin',
            restoreJobs: 2,
            retention: { keepLast: 3, daily: 7, weekly: 4, monthly: 6, maxAgeDays: 0 },
            maxAgeHours: 26,
            verifiedMaxAgeHours: 192
        });
    });

    it('reads the retention, the tools directory (searched first) and the job count from the environment', () => {

        const config = loadConfig({
            PATH: '/usr/bin',
            BACKUP_PG_BIN_DIR: '/usr/lib/postgresql/15/bin',
            BACKUP_RESTORE_JOBS: '4',
            BACKUP_KEEP_LAST: '1',
            BACKUP_KEEP_DAILY: '14',
            BACKUP_KEEP_WEEKLY: '0',
            BACKUP_KEEP_MONTHLY: '12',
            BACKUP_MAX_AGE_DAYS: '400'
        }, root);
        expect(config.backup.toolPath).to.equal('/usr/lib/postgresql/15/bin:/usr/bin');
        expect(config.backup.restoreJobs).to.equal(4);
        expect(config.backup.retention).to.equal({ keepLast: 1, daily: 14, weekly: 0, monthly: 12, maxAgeDays: 400 });
    });

    it('refuses settings that would make retention meaningless', () => {

        expect(() => loadConfig({ BACKUP_KEEP_LAST: '0' }, root)).to.throw(ConfigError, /^Invalid BACKUP_KEEP_LAST/);
        expect(() => loadConfig({ BACKUP_KEEP_DAILY: 'many' }, root)).to.throw(ConfigError, /^Invalid BACKUP_KEEP_DAILY/);
        expect(() => loadConfig({ BACKUP_MAX_AGE_DAYS: '-1' }, root)).to.throw(ConfigError, /^Invalid BACKUP_MAX_AGE_DAYS/);
        expect(() => loadConfig({ BACKUP_RESTORE_JOBS: '0' }, root)).to.throw(ConfigError, /^Invalid BACKUP_RESTORE_JOBS/);
    });
});
