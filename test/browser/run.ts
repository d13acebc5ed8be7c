// Runs the browser suites with lab: `npm run test:browser [-- grep]`.
// The suites are plain functions that register tests on a script made here,
// so the unit run (`npm test`, which loads every file under test/) imports
// them without running anything and never needs chromium.

import * as Lab from '@hapi/lab';

import { backupsPanelSuite } from './backups';
import { consoleShellSuite } from './console-shell';
import { documentationSuite } from './documentation';
import { migratorPanelsSuite } from './migrator-panels';
import { monitoringPanelsSuite } from './monitoring-panels';

/** Every browser suite; plugins' panel suites are added here. */
export const suites = [consoleShellSuite, monitoringPanelsSuite, migratorPanelsSuite, backupsPanelSuite, documentationSuite];

async function main(): Promise<void> {

    const script = Lab.script({ schedule: false });
    for (const suite of suites) {
        suite(script);
    }

    const grep = process.argv[2];
    // Lab's programmatic runner is not in its type declarations.
    const { report } = Lab as unknown as { report(scripts: unknown[], options: object): Promise<{ code: number }> };
    const { code } = await report([script], {
        reporter: 'console',
        output: process.stdout,
        colors: Boolean(process.stdout.isTTY),
        progress: 2,
        timeout: 60_000,
        'context-timeout': 60_000,
        coverage: false,
        leaks: false,
        ...(grep ? { grep } : {})
    });
    process.exit(code);
}

if (require.main === module) {
    main().catch((error: unknown) => {

        console.error(error);
        process.exit(1);
    });
}
