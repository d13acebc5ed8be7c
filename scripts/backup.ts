// Command line for the backup engine (the same module the server's backup
// plugin uses): list, create, verify, restore and prune backups of the
// database in DATABASE_DIRECT_URL (else DATABASE_URL). A progress bar on a terminal, plain progress
// lines otherwise.
//
//   npm run backup -- list
//   npm run backup -- create [--format custom|plain|plain-gzip|sqlite]
//   npm run backup -- verify <name>
//   npm run backup -- restore <name> --confirm <database> [--tables a,b]
//   npm run backup -- prune [--dry-run]

import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';

import { backupEngineFromConfig, type BackupEngine } from '../plugins/backup/engine';
import { BackupError } from '../plugins/backup/errors';
import type { BackupFormat } from '../plugins/backup/names';
import type { BackupProgress, OperationOptions } from '../plugins/backup/types';
import { ConfigError, loadConfig } from '../server/config';
import { DatabaseUrlError, redactSecrets } from '../server/db/url';

const USAGE = `usage: backup <list | create [--format F] | verify <name> | restore <name> --confirm <database> [--tables a,b] | prune [--dry-run]>`;

class UsageError extends Error {}

/** Progress for one operation: a bar on a terminal, a line per phase change otherwise. */
function reporter(): OperationOptions & { done(): void } {

    const tty = Boolean(process.stderr.isTTY);
    let bar: SingleBar | null = null;
    let lastLine = '';

    return {
        onProgress(progress: BackupProgress) {

            if (tty && progress.total) {
                if (!bar) {
                    bar = new SingleBar({ format: '{phase} [{bar}] {value}/{total}', stream: process.stderr, hideCursor: true });
                    bar.start(progress.total, progress.done ?? 0, { phase: progress.phase });
                }

                bar.setTotal(progress.total);
                bar.update(progress.done ?? 0, { phase: progress.phase });
                return;
            }

            bar?.stop();
            bar = null;
            const line = progress.total ? `${progress.phase} ${progress.done ?? 0}/${progress.total}` : progress.phase;
            if (line !== lastLine && (tty || !progress.total || progress.done === progress.total || progress.done === 0)) {
                process.stderr.write(`${line}\n`);
                lastLine = line;
            }
        },
        done() {

            bar?.stop();
        }
    };
}

async function run(engine: BackupEngine, argv: string[]): Promise<unknown> {

    const { positionals, values } = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
            format: { type: 'string' },
            confirm: { type: 'string' },
            tables: { type: 'string' },
            'dry-run': { type: 'boolean', default: false }
        }
    });

    const [command, name, ...extra] = positionals;
    if (extra.length) {
        throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    }

    const progress = reporter();
    try {
        switch (command) {
            case 'list':
                return await engine.list();
            case 'create':
                return await engine.create({ format: values.format as BackupFormat | undefined, ...progress });
            case 'verify':
                return await engine.verify(name, progress);
            case 'restore': {
                if (values.confirm !== engine.confirmationName) {
                    throw new UsageError(`to restore, pass --confirm ${engine.confirmationName} (the database name)`);
                }

                const tables = values.tables ? values.tables.split(',').map((table) => table.trim()).filter(Boolean) : undefined;
                return await engine.restore(name ?? '', { tables, ...progress });
            }

            case 'prune':
                return await engine.prune({ dryRun: values['dry-run'] });
            default:
                throw new UsageError(command ? `unknown command "${command}"` : 'no command');
        }
    }
    finally {
        progress.done();
    }
}

async function main(): Promise<number> {

    const config = loadConfig();
    const engine = backupEngineFromConfig(config);

    const result = await run(engine, process.argv.slice(2));
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return result && typeof result === 'object' && 'ok' in result && result.ok === false ? 1 : 0;
}

main().then((code) => process.exit(code), (error: unknown) => {

    if (error instanceof UsageError || (error as NodeJS.ErrnoException)?.code?.startsWith('ERR_PARSE_ARGS')) {
        console.error(`backup: ${(error as Error).message}\n${USAGE}`);
        process.exit(2);
    }

    const known = error instanceof BackupError || error instanceof ConfigError || error instanceof DatabaseUrlError;
    console.error(`backup: ${known ? (error as Error).message : redactSecrets(String((error as Error)?.stack ?? error))}`);
    process.exit(1);
});
