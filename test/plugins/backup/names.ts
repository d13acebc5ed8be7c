import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { backupName, nameLabel, parseBackupName, safeDatabaseLabel } from '../../../plugins/backup/names';
import { planRetention } from '../../../plugins/backup/retention';

export const lab = Lab.script();
const { describe, it } = lab;

describe('backup names', () => {

    it('generates UTC names that parse back to the same instant and format', () => {

        const at = new Date('2026-02-03T04:05:06.789Z');
        const name = backupName('library', at, 'plain-gzip', '0a1b2c3d');
        expect(name).to.equal('neo-alexandria_library_20260203T040506Z_0a1b2c3d.sql.gz');
        expect(parseBackupName(name)).to.equal({ name, database: 'library', createdAt: new Date('2026-02-03T04:05:06Z'), format: 'plain-gzip' });
    });

    it('does not repeat the prefix for a database named like it, and still reads older names', () => {

        const at = new Date('2026-02-03T04:05:06Z');
        for (const database of ['neo-alexandria', 'neo_alexandria', 'Neo_Alexandria']) {
            expect(nameLabel(database)).to.equal('');
            const name = backupName(database, at, 'sqlite', 'deadbeef');
            expect(name).to.equal('neo-alexandria_20260203T040506Z_deadbeef.sqlite3');
            expect(parseBackupName(name)).to.include({ database: '' });
        }

        // Names written before (and by the cron script): repeated prefix, no unique part.
        expect(parseBackupName('neo-alexandria_neo-alexandria_20260203T040506Z.sqlite3')).to.include({ database: 'neo-alexandria', format: 'sqlite' });
        expect(parseBackupName('neo-alexandria_prod_20260203T040506Z.dump')).to.include({ database: 'prod', format: 'custom' });
        expect(() => backupName('db', at, 'custom', '../x')).to.throw(TypeError);
    });

    it('never lets a database name put a path into a backup name', () => {

        expect(safeDatabaseLabel('../etc/passwd')).to.equal('---etc-passwd');
        expect(backupName('a/b', new Date(0), 'custom')).to.equal('neo-alexandria_a-b_19700101T000000Z.dump');
    });

    it('rejects anything that is not exactly a generated name', () => {

        for (const name of [
            '../neo-alexandria_db_20260101T000000Z.dump',
            'neo-alexandria_db_20260101T000000Z.dump.json',
            '.neo-alexandria_db_20260101T000000Z.dump.partial',
            'neo-alexandria_db_20261340T000000Z.dump',
            'neo-alexandria_db_20260230T000000Z.dump',
            'neo-alexandria_d.b_20260101T000000Z.dump',
            'neo-alexandria_db_20260101T000000Z.tar',
            'neo-alexandria_db_20260101T000000Z_ABCDEF12.dump',
            'neo-alexandria_db_20260101T000000Z_abc.dump'
        ]) {
            expect(parseBackupName(name), name).to.be.null();
        }
    });
});

describe('backup retention', () => {

    const at = (iso: string) => ({ name: iso, createdAt: new Date(iso) });

    it('keeps one backup per ISO week, counting weeks across a year boundary', () => {

        // 2026-12-31 (Thu) and 2027-01-03 (Sun) are both in ISO week 2026-W53.
        const plan = planRetention([at('2027-01-04T00:00:00Z'), at('2027-01-03T00:00:00Z'), at('2026-12-31T00:00:00Z'), at('2026-12-27T00:00:00Z')], { keepLast: 1, daily: 0, weekly: 3, monthly: 0, maxAgeDays: 0 });
        expect(plan.keep).to.equal([
            { name: '2027-01-04T00:00:00Z', reasons: ['last 1', 'weekly 2027-W01'] },
            { name: '2027-01-03T00:00:00Z', reasons: ['weekly 2026-W53'] },
            { name: '2026-12-27T00:00:00Z', reasons: ['weekly 2026-W52'] }
        ]);
        expect(plan.remove).to.equal(['2026-12-31T00:00:00Z']);
    });

    it('keeps the newest backup even when it is older than the age limit', () => {

        const plan = planRetention([at('2020-01-01T00:00:00Z'), at('2019-01-01T00:00:00Z')], { keepLast: 1, daily: 7, weekly: 4, monthly: 6, maxAgeDays: 30 }, new Date('2026-01-01T00:00:00Z'));
        expect(plan.keep.map((entry) => entry.name)).to.equal(['2020-01-01T00:00:00Z']);
        expect(plan.remove).to.equal(['2019-01-01T00:00:00Z']);
    });
});
