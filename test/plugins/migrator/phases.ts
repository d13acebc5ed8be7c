// The phase modules on their own; the copy and validate phases run against
// real databases in migrator.ts, preflight.ts and failures.ts.

import Fs from 'node:fs';

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { checkTargetFile, inParallel, MigrationAbortedError, sqliteFileIdentity } from '../../../plugins/migrator/context';
import { selectTables } from '../../../plugins/migrator/plan';
import { planSearchRebuild } from '../../../plugins/migrator/rebuild';
import type { DeferredObject } from '../../../plugins/migrator/dialects/types';
import type { Catalog } from '../../../plugins/migrator/types';
import { tempSqlitePath } from '../../helpers/database';

export const lab = Lab.script();
const { describe, it } = lab;

describe('migrator phases', () => {

    it('plan: selects every table, or the named ones, and refuses unknown names', () => {

        const catalog: Catalog = new Map(['users', 'resources'].map((name) => [name, { name, columns: [], primaryKey: ['id'], foreignKeys: [] }]));
        expect(selectTables(catalog, undefined)).to.equal(['resources', 'users']);
        expect(selectTables(catalog, ['users', 'users'])).to.equal(['users']);
        expect(() => selectTables(catalog, ['nope'])).to.throw(MigrationAbortedError, /unknown table\(s\) nope; the source has: resources, users/);
    });

    it('rebuild: rebuilds PostgreSQL search data beside the copy unless a row trigger was set aside, and SQLite\'s never', () => {

        const setAside: DeferredObject = { name: 'resources_search_vector_trigger', table: 'resources', phase: 'trigger', drop: '', restore: '' };
        expect(planSearchRebuild('postgres', [], ['resources', 'users'])).to.include({ needed: true, besideCopy: true, derivedColumnsCurrent: true });
        expect(planSearchRebuild('postgres', [setAside], ['resources'])).to.include({ needed: true, besideCopy: false, derivedColumnsCurrent: false });
        expect(planSearchRebuild('postgres', [], ['users'])).to.include({ needed: false });
        expect(planSearchRebuild('sqlite', [], ['resources'])).to.include({ needed: false });
    });

    it('context: runs work at most N at a time, and notices a SQLite target file replaced', async () => {

        let running = 0;
        let most = 0;
        await inParallel([1, 2, 3, 4, 5], 2, async () => {

            most = Math.max(most, ++running);
            await new Promise((resolve) => setTimeout(resolve, 5));
            --running;
        });
        expect(most).to.equal(2);

        const file = tempSqlitePath('identity');
        Fs.writeFileSync(file, '');
        const options = { source: 'sqlite:/x.db', target: `sqlite:${file}` };
        const opened = sqliteFileIdentity(options.target, undefined);
        expect(() => checkTargetFile(options, opened)).to.not.throw();
        // Held open, as SQLite holds it during a run: the new file cannot reuse its inode.
        const held = Fs.openSync(file, 'r');
        Fs.rmSync(file);
        expect(() => checkTargetFile(options, opened)).to.throw(MigrationAbortedError, /was removed or replaced during the run/);
        Fs.writeFileSync(file, '');
        expect(() => checkTargetFile(options, opened)).to.throw(MigrationAbortedError, /was removed or replaced during the run/);
        Fs.closeSync(held);
        Fs.rmSync(file);
        expect(sqliteFileIdentity('postgres://localhost/x', undefined)).to.be.null();
    });
});
