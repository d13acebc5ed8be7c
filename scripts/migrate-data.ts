// npm run migrate-data -- --source URL --target URL [options]
// Copies the library between SQLite and PostgreSQL (either direction).
// Exit codes: 0 done and valid, 1 failed (report says why), 2 usage error,
// 3 done and valid with rows set aside in the reject file (--on-invalid reject).

import Fs from 'node:fs';
import Path from 'node:path';
import { parseArgs } from 'node:util';

import { ConfigError, loadConfig } from '../server/config';
import { directUrlFor } from '../server/db/direct';
import { redactSecrets } from '../server/db/url';
import { formatReport } from '../plugins/migrator/report';
import { createProgressReporter } from '../plugins/migrator/progress';
import { DEFAULT_BATCH_SIZE, DEFAULT_REJECT_FILE, migrateData, MigrationUsageError, type MigrateOptions } from '../plugins/migrator/migrator';

const USAGE = `usage: npm run migrate-data -- --source URL --target URL [--validate] [--verify-rows] [--dry-run]
       [--resume | --truncate] [--batch-size N] [--tables a,b] [--report FILE] [--no-migrate]
       [--on-invalid fail|reject] [--reject-file FILE] [--maintenance]
  --source URL      database to copy from (sqlite:path or postgres://…)
  --target URL      database to copy into (a missing SQLite file is created; pending migrations are applied)
  --validate        compare content checksums as well as row counts
  --verify-rows     with a checksum mismatch, name the first differing keys (implies --validate)
  --dry-run         validate schemas and counts, report what would move, write nothing
  --resume          continue an interrupted run from the checkpoints in the target
  --truncate        empty the target tables first
  --batch-size N    rows per batch (default ${DEFAULT_BATCH_SIZE})
  --tables a,b      only these tables
  --report FILE     write the report as JSON
  --no-migrate      refuse instead of applying pending migrations to the target
  --on-invalid fail|reject
                    source values the target cannot hold (NUL in text, dates out of range, over-long
                    text...): fail stops before writing anything (default); reject copies the rest and
                    writes those rows, whole, with their reasons to the reject file (exit code 3)
  --maintenance     make the source library read-only for the run (maintenance mode, seen by every server
                    within a second) and fail if it changes anyway; left on after a successful run
  --reject-file FILE
                    where --on-invalid reject writes the rows (default ${DEFAULT_REJECT_FILE})`;

class UsageError extends Error {}

class HelpRequested extends Error {}

export function parseCommandLine(argv: string[]): MigrateOptions & { report?: string } {

    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            strict: true,
            allowPositionals: false,
            options: {
                source: { type: 'string' },
                target: { type: 'string' },
                validate: { type: 'boolean' },
                'verify-rows': { type: 'boolean' },
                'dry-run': { type: 'boolean' },
                resume: { type: 'boolean' },
                truncate: { type: 'boolean' },
                'batch-size': { type: 'string' },
                tables: { type: 'string' },
                report: { type: 'string' },
                'no-migrate': { type: 'boolean' },
                'on-invalid': { type: 'string' },
                'reject-file': { type: 'string' },
                maintenance: { type: 'boolean' },
                help: { type: 'boolean', short: 'h' }
            }
        });
    }
    catch (error) {
        throw new UsageError((error as Error).message);
    }

    const { values } = parsed;
    if (values.help) {
        throw new HelpRequested();
    }

    if (!values.source || !values.target) {
        throw new UsageError('--source and --target are required');
    }

    let batchSize: number | undefined;
    if (values['batch-size'] !== undefined) {
        batchSize = Number(values['batch-size']);
        if (!/^\d+$/.test(values['batch-size']) || !Number.isSafeInteger(batchSize)) {
            throw new UsageError(`--batch-size must be a positive integer, not "${values['batch-size']}"`);
        }
    }

    const tables = values.tables?.split(',').map((name) => name.trim()).filter(Boolean);
    if (values.tables !== undefined && !tables?.length) {
        throw new UsageError('--tables needs at least one table name');
    }

    if (values['on-invalid'] !== undefined && values['on-invalid'] !== 'fail' && values['on-invalid'] !== 'reject') {
        throw new UsageError(`--on-invalid must be fail or reject, not "${values['on-invalid']}"`);
    }

    if (values['reject-file'] !== undefined && values['on-invalid'] !== 'reject') {
        throw new UsageError('--reject-file goes with --on-invalid reject');
    }

    if (values.report !== undefined) {
        checkReportFile(values.report, '--report');
    }

    if (values['on-invalid'] === 'reject') {
        checkReportFile(values['reject-file'] ?? DEFAULT_REJECT_FILE, '--reject-file');
    }

    return {
        source: values.source,
        target: values.target,
        validate: values.validate,
        verifyRows: values['verify-rows'],
        dryRun: values['dry-run'],
        resume: values.resume,
        truncate: values.truncate,
        batchSize,
        tables,
        migrate: !values['no-migrate'],
        maintenance: values.maintenance,
        onInvalid: values['on-invalid'] as MigrateOptions['onInvalid'],
        rejectFile: values['on-invalid'] === 'reject' ? values['reject-file'] ?? DEFAULT_REJECT_FILE : undefined,
        report: values.report
    };
}

/** The report and reject files are written during or after the run: a path they cannot be written to is refused before it. */
function checkReportFile(file: string, flag: string): void {

    const path = Path.resolve(file);
    let writable = path;
    if (Fs.existsSync(path)) {
        if (Fs.statSync(path).isDirectory()) {
            throw new UsageError(`${flag} ${file} is a directory; give a file name`);
        }
    }
    else {
        writable = Path.dirname(path);
    }

    try {
        Fs.accessSync(writable, Fs.constants.W_OK);
    }
    catch (error) {
        throw new UsageError(`${flag} ${file} cannot be written: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? `the directory ${writable} does not exist` : `${writable} is not writable`}`);
    }
}

async function main(argv: string[]): Promise<number> {

    let options;
    try {
        options = parseCommandLine(argv);
    }
    catch (error) {
        if (error instanceof HelpRequested) {
            console.log(USAGE);
            return 0;
        }

        if (error instanceof UsageError) {
            console.error(`migrate-data: ${redactSecrets(error.message)}\n${USAGE}`);
            return 2;
        }

        throw error;
    }

    const progress = createProgressReporter(process.stderr);
    let report;
    try {
        // DATABASE_URL given as a side means its direct connection (DATABASE_DIRECT_URL).
        const config = loadConfig();
        const source = directUrlFor(config, options.source);
        const target = directUrlFor(config, options.target);
        report = await migrateData({ ...options, source, target, onProgress: progress.onProgress });
    }
    catch (error) {
        progress.stop();
        if (error instanceof MigrationUsageError || error instanceof ConfigError) {
            console.error(`migrate-data: ${redactSecrets(error.message)}\n${USAGE}`);
            return 2;
        }

        throw error;
    }

    progress.stop();
    console.log(formatReport(report));
    if (options.report) {
        Fs.writeFileSync(options.report, `${JSON.stringify(report, null, 2)}\n`);
    }

    return report.ok ? report.rejectedRows ? 3 : 0 : 1;
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => {

        process.exitCode = code;
    }, (error: unknown) => {

        console.error(`migrate-data: ${redactSecrets((error as Error)?.message ?? String(error))}`);
        process.exitCode = 1;
    });
}
