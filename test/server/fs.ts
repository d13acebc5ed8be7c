import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { createDatabaseEngine } from '../../server/db/engine';
import { makeDirectory, makeDirectorySync } from '../../server/fs';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

// Node 20's recursive mkdir spins forever under /proc; these must fail at once.
const procfs = Fs.existsSync('/proc/self');

describe('server/fs', () => {

    let root: string;

    before(() => {

        root = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'na-fs-'));
    });

    after(() => {

        Fs.rmSync(root, { recursive: true, force: true });
    });

    it('makes every missing level, and again without complaint', async () => {

        const deep = Path.join(root, 'a', 'b', 'c');
        makeDirectorySync(deep);
        expect(Fs.statSync(deep).isDirectory()).to.be.true();
        makeDirectorySync(deep);

        const other = Path.join(root, 'a', 'x', 'y');
        await makeDirectory(other, 0o700);
        expect(Fs.statSync(other).mode & 0o777).to.equal(0o700);
        await makeDirectory(other, 0o700);
    });

    it('fails on a file in the way', async () => {

        const file = Path.join(root, 'file');
        Fs.writeFileSync(file, '');
        expect(() => makeDirectorySync(Path.join(file, 'sub'))).to.throw(/ENOTDIR/);
        await expect(makeDirectory(Path.join(file, 'sub'))).to.reject(/ENOTDIR/);
    });

    it('fails at once under a filesystem that refuses directories (/proc)', { skip: !procfs }, async () => {

        expect(() => makeDirectorySync('/proc/na-nope/deeper')).to.throw(/ENOENT/);
        await expect(makeDirectory('/proc/na-nope/deeper')).to.reject(/ENOENT/);
        expect(() => createDatabaseEngine('sqlite:/proc/na-nope/library.db')).to.throw(/cannot create the directory of the SQLite database \/proc\/na-nope\/library\.db: ENOENT/);
    });
});
