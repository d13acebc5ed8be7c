// The rebuild phase: what the bulk load sets aside (secondary indexes,
// triggers, foreign keys) and puts back, and the derived search data,
// recomputed beside the copy or after it.

import { redactSecrets } from '../../server/db/url';
import type { DatabaseType } from '../../server/db/url';
import { derivedSearchStorage, rebuildSearchStorage } from '../../server/search/storage';
import { loadDeferred, writeState } from './checkpoints';
import { inParallel } from './context';
import type { DeferredObject } from './dialects/types';
import type { MigrationReport, Side } from './types';

/** Records and drops what the bulk load is faster without; returns everything set aside, also by a killed run. */
export async function deferObjects(target: Side, tables: readonly string[]): Promise<DeferredObject[]> {

    // Objects set aside by a killed run are still recorded; keep them.
    const saved = await loadDeferred(target.engine.knex);
    const present = await target.dialect.deferrableObjects(target.engine.knex, tables);
    const names = new Set(saved.map((object) => `${object.phase}:${object.name}`));
    const all = [...saved, ...present.filter((object) => !names.has(`${object.phase}:${object.name}`))];
    await target.engine.knex.transaction(async (trx) => {

        await writeState(trx, 'deferred', JSON.stringify(all));
        for (const object of present) {
            await trx.raw(object.drop);
        }
    });
    return all;
}

// Tables whose derived search data rebuildSearchStorage() recomputes.
export const SEARCH_SOURCE_TABLES = ['resources'];

/** When and how the derived search data is recomputed after a load. */
export interface SearchRebuild {
    /** The loaded tables include a search source and the row triggers alone do not keep the derived data. */
    needed: boolean;
    /**
     * What the row triggers derive is current: they stayed on for the whole
     * load. A trigger set aside (by a run of an older version being resumed)
     * means some rows lack it, and the rebuild recomputes it (on PostgreSQL
     * by rewriting the table).
     */
    derivedColumnsCurrent: boolean;
    /**
     * The rebuild only reads the search sources, so it starts as soon as they
     * are copied and runs beside the copy of the other tables.
     */
    besideCopy: boolean;
    /** The search source tables this run loads. */
    sources: string[];
    /** The rebuild once started (beside the copy or after it). */
    running?: Promise<void>;
}

export function planSearchRebuild(type: DatabaseType, deferred: readonly DeferredObject[], tables: readonly string[]): SearchRebuild {

    const storage = derivedSearchStorage[type];
    const sources = tables.filter((table) => SEARCH_SOURCE_TABLES.includes(table));
    const derivedColumnsCurrent = !deferred.some((entry) => entry.phase === 'trigger' && storage.rowTriggers.includes(entry.name));
    const needed = sources.length > 0 && !(derivedColumnsCurrent && storage.rowTriggersSuffice);
    return { needed, derivedColumnsCurrent, besideCopy: needed && derivedColumnsCurrent, sources };
}

/**
 * Starts the rebuild once. The set-aside statement triggers are not needed
 * for it: the migrator writes no search source rows after their copy, and
 * the target is not in use during a migration.
 */
export function startSearchRebuild(target: Side, search: SearchRebuild, report: MigrationReport): Promise<void> {

    if (!search.running) {
        const started = Date.now();
        search.running = rebuildSearchStorage(target.engine.knex, target.engine.type, { derivedColumnsCurrent: search.derivedColumnsCurrent })
            .then(() => {

                report.phases.search = Date.now() - started;
            });
        // Awaited by restoreObjects(); a run cancelled before that must not
        // leave the rejection unhandled.
        search.running.catch(() => undefined);
    }

    return search.running;
}

/**
 * Puts back what deferObjects() set aside and rebuilds the derived search
 * data (or waits for the rebuild started beside the copy). Every object is
 * attempted; the ones that fail stay recorded (a --resume tries them again)
 * and are returned.
 */
export async function restoreObjects(target: Side, search: SearchRebuild, report: MigrationReport): Promise<string[]> {

    const { knex } = target.engine;
    const deferred = await loadDeferred(knex);
    const failed: Array<{ object: DeferredObject; message: string }> = [];
    const restore = async (object: DeferredObject) => {

        try {
            await target.dialect.restore(knex, object);
        }
        catch (error) {
            failed.push({ object, message: redactSecrets((error as Error).message) });
        }
    };

    const concurrency = target.dialect.restoreConcurrency;
    for (const object of deferred.filter((entry) => entry.phase === 'trigger')) {
        await restore(object);
    }

    // A rebuild that rewrites resources rows comes before resources' indexes;
    // one that only reads them runs beside every index build. Foreign keys
    // last, one at a time: each locks two tables.
    const indexes = deferred.filter((entry) => entry.phase === 'index');
    const later = search.derivedColumnsCurrent ? [] : indexes.filter((entry) => SEARCH_SOURCE_TABLES.includes(entry.table));
    const now = indexes.filter((entry) => !later.includes(entry));
    const rebuild = search.needed ? startSearchRebuild(target, search, report) : Promise.resolve();
    await Promise.all([rebuild, inParallel(now, Math.max(1, concurrency - 1), restore)]);
    await inParallel(later, concurrency, restore);
    for (const object of deferred.filter((entry) => entry.phase === 'constraint')) {
        await restore(object);
    }

    await writeState(knex, 'deferred', JSON.stringify(failed.map((entry) => entry.object)));
    return failed.map(({ object, message }) => `could not restore ${object.phase} ${object.name} on ${object.table}: ${message}`);
}
