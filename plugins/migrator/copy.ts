// The copy phase for one table: keyset pages from the source, hashed and
// encoded while the previous page is written, each batch committed with its
// checkpoint; a failure is that table's (or the run's, when a database is gone).

import { redactSecrets } from '../../server/db/url';
import { saveCheckpoint, type Checkpoint } from './checkpoints';
import { TableChecksum } from './checksum';
import { checkTargetFile, ensureReachable, MigrationAbortedError, rate, type Context } from './context';
import type { EncodedBatch } from './dialects/types';
import { keyText } from './preflight';
import { cursorOf, readPage } from './reading';
import { sharedColumns } from './schema-check';
import type { TableReport } from './types';

export async function copyTable(ctx: Context, table: string, entry: TableReport, checkpoint: Checkpoint | null): Promise<void> {

    const { options, source, target, emit } = ctx;
    const sourceTable = source.catalog.get(table)!;
    const columns = sharedColumns(sourceTable, target.catalog.get(table)!);
    const state: Checkpoint = checkpoint ?? { table, lastKey: null, rows: 0, batches: 0, checksum: null, completed: false };
    const skipped = ctx.rejected.get(table)?.size ? ctx.rejected.get(table)! : null;
    const checksum = new TableChecksum(state.checksum);
    // A running checksum only counts when it covers every copied row: rows
    // copied by an earlier run without validation make the source be hashed
    // again at validation time instead.
    const hashing = options.validate && (state.rows === 0 || state.checksum !== null);
    const started = Date.now();

    emit({ type: 'table-start', table, rows: entry.sourceRows, done: state.rows });
    if (state.completed) {
        entry.copiedRows = 0;
        entry.sourceChecksum = state.checksum;
        emit({ type: 'table-done', table, report: entry });
        return;
    }

    // Names a failed batch by its keys: the source rows need not be kept for it.
    const batchError = (error: unknown, batch: number, after: unknown[] | null, first: unknown[]) => {

        return Object.assign(new Error(`batch ${batch} (rows after key ${JSON.stringify(after)}, first key ${JSON.stringify(first)}): ${redactSecrets((error as Error).message)}`), { batch });
    };

    // Writes one encoded batch with its checkpoint, in one transaction.
    const writer = target.dialect.openWriter(target.engine.knex);
    const write = async (encoded: EncodedBatch, next: Checkpoint, after: unknown[] | null, first: unknown[]) => {

        try {
            await writer.write(encoded, next);
        }
        catch (error) {
            throw batchError(error, next.batches, after, first);
        }

        Object.assign(state, next);
        entry.copiedRows += encoded.rows;
        emit({ type: 'batch', table, batch: next.batches, rows: encoded.rows, done: state.rows, total: entry.sourceRows });
    };

    // Three pages at a time: the next one is read, and this one hashed and
    // encoded, while the previous one is written. Writes stay one after
    // another, in key order.
    let pending = readPage(source.engine.knex, sourceTable, columns.source, state.lastKey, options.batchSize, true);
    let writing: Promise<void> = Promise.resolve();
    let planned = { lastKey: state.lastKey, rows: state.rows, batches: state.batches };
    try {
        try {
            for (;;) {
                if (options.signal?.aborted) {
                    throw new MigrationAbortedError('cancelled; run again with --resume to continue');
                }

                // A stat per batch: a SQLite target removed mid-run stops the copy
                // at once instead of at its end.
                checkTargetFile(options, ctx.targetFile);
                const page = await pending;
                if (!page.length) {
                    break;
                }

                const cursor = cursorOf(sourceTable, page[page.length - 1]!, true);
                pending = page.length === options.batchSize ? readPage(source.engine.knex, sourceTable, columns.source, cursor, options.batchSize, true) : Promise.resolve([]);
                pending.catch(() => {});
                const rows = skipped ? page.filter((row) => !skipped.has(keyText(sourceTable, row))) : page;
                if (!rows.length) {
                    continue;
                }

                const batch = planned.batches + 1;
                const after = planned.lastKey;
                const first = cursorOf(sourceTable, rows[0]!, true);
                let encoded: EncodedBatch;
                try {
                    if (hashing) {
                        // The target's kinds normalize both sides, so a converted value
                        // and its original hash alike.
                        for (const row of rows) {
                            checksum.add(columns.target, row);
                        }
                    }

                    encoded = target.dialect.encodeBatch(table, columns.target, rows);
                }
                catch (error) {
                    // A value its column cannot hold.
                    throw batchError(error, batch, after, first);
                }

                const next: Checkpoint = {
                    table, lastKey: cursor, rows: planned.rows + rows.length, batches: batch,
                    checksum: hashing ? checksum.toString() : null, completed: false
                };
                planned = next;

                await writing;
                writing = write(encoded, next, after, first);
                writing.catch(() => {});
            }

            await writing;
        }
        catch (error) {
            // Whatever stopped the copy, no write of this table is left running.
            await writing.catch(() => {});
            throw error;
        }
        finally {
            await writer.close();
        }

        state.completed = true;
        await saveCheckpoint(target.engine.knex, state);
        entry.sourceChecksum = hashing ? checksum.toString() : null;
    }
    catch (error) {
        if (error instanceof MigrationAbortedError) {
            throw error;
        }

        await ensureReachable(ctx);
        const batch = (error as { batch?: number }).batch ?? null;
        const message = redactSecrets((error as Error).message);
        entry.status = 'failed';
        entry.errors.push({ table, batch, message });
        emit({ type: 'table-error', table, batch, message });
    }
    finally {
        entry.durationMs = Date.now() - started;
        entry.rowsPerSecond = rate(entry.copiedRows, entry.durationMs);
    }

    emit({ type: 'table-done', table, report: entry });
}
