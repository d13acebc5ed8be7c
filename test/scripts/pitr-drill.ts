import { execFile } from 'node:child_process';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import { promisify } from 'node:util';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { postgresOnly } from '../helpers/database';

export const lab = Lab.script();
const { describe, it } = lab;

const SCRIPT = Path.resolve(__dirname, '..', '..', 'scripts', 'pitr-drill.sh');

describe('scripts/pitr-drill.sh', () => {

    it('postgres only: recovers a scratch cluster to a point in time with exactly the rows written before it', { ...postgresOnly, timeout: 120_000 }, async () => {

        const before = Fs.readdirSync(Os.tmpdir()).filter((name) => name.startsWith('na-pitr.'));
        const { stdout } = await promisify(execFile)('bash', [SCRIPT], { timeout: 110_000 });
        expect(stdout).to.match(/PASSED: exactly the first 100 rows exist after recovery to \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\+00 \(\d+ s\)/);
        expect(stdout).to.contain('archived WAL up to');
        // It cleans up after itself.
        const after = Fs.readdirSync(Os.tmpdir()).filter((name) => name.startsWith('na-pitr.'));
        expect(after).to.equal(before);
    });
});
