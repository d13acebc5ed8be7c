// Progress for the command line: one bar per table on a terminal, plain
// lines otherwise (logs, CI, pipes).

import CliProgress from 'cli-progress';

import type { ProgressEvent } from './types';

export interface ProgressReporter {
    onProgress(event: ProgressEvent): void;
    stop(): void;
}

export function createProgressReporter(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {

    return stream.isTTY ? barReporter(stream) : lineReporter(stream);
}

function barReporter(stream: NodeJS.WriteStream): ProgressReporter {

    const multibar = new CliProgress.MultiBar({
        stream,
        format: ' {table} [{bar}] {percentage}% {value}/{total} rows | {status}',
        hideCursor: true,
        clearOnComplete: false
    }, CliProgress.Presets.shades_classic);
    const bars = new Map<string, CliProgress.SingleBar>();
    const width = 22;

    return {
        onProgress(event) {

            if (event.type === 'table-start') {
                bars.set(event.table, multibar.create(Math.max(event.rows, 1), event.done, { table: event.table.padEnd(width), status: 'copying' }));
            }
            else if (event.type === 'batch') {
                bars.get(event.table)?.update(event.done, { status: `batch ${event.batch}` });
            }
            else if (event.type === 'table-error') {
                bars.get(event.table)?.update({ status: `FAILED: ${event.message.slice(0, 60)}` });
            }
            else if (event.type === 'table-done' && event.report.status === 'ok') {
                bars.get(event.table)?.update(Math.max(event.report.sourceRows, 1), { status: 'done' });
            }
            else if (event.type === 'phase') {
                multibar.log(`${event.message}\n`);
            }
        },
        stop() {

            multibar.stop();
        }
    };
}

function lineReporter(stream: NodeJS.WriteStream): ProgressReporter {

    // A line per table, and per batch at most every two seconds.
    const shown = new Map<string, number>();
    const write = (text: string) => stream.write(`${text}\n`);
    return {
        onProgress(event) {

            if (event.type === 'phase') {
                write(event.message);
            }
            else if (event.type === 'table-start') {
                write(`${event.table}: ${event.rows} row(s)${event.done ? `, ${event.done} already copied` : ''}`);
                shown.set(event.table, Date.now());
            }
            else if (event.type === 'batch' && Date.now() - (shown.get(event.table) ?? 0) >= 2000) {
                write(`${event.table}: ${event.done}/${event.total} rows (batch ${event.batch})`);
                shown.set(event.table, Date.now());
            }
            else if (event.type === 'table-error') {
                write(`${event.table}: FAILED${event.batch === null ? '' : ` in batch ${event.batch}`}: ${event.message}`);
            }
            else if (event.type === 'table-done' && event.report.status === 'ok') {
                write(`${event.table}: done, ${event.report.copiedRows} row(s) copied`);
            }
        },
        stop() {}
    };
}
