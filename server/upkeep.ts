// Periodic work (search champion lists, job lease expiry, session clean-up)
// run by one instance at a time. Every instance ticks; for each task it opens
// a transaction, takes the task's transaction lock if nobody holds it (a busy
// task is skipped, never waited for) and runs the task inside that
// transaction, so a second instance that gets the lock afterwards sees the
// first one's work and finds nothing stale. Nothing runs on a standby.

import type { Knex } from 'knex';

import { redactSecrets } from './db/url';
import type { Dialect } from './db/types';

export interface UpkeepTask {
    /** Also the lock's name: one leader per task. */
    name: string;
    /** Does the work if it is due (re-checking staleness now that it holds the lock); says what it did, or null. */
    run(trx: Knex.Transaction): Promise<string | null>;
}

/** What one round did per task. */
export type UpkeepOutcome = 'standby' | 'busy' | 'idle' | 'done' | 'failed';

export interface UpkeepOptions {
    knex: Knex;
    dialect: Dialect;
    intervalMs: number;
    log?: (tags: string[], data: string | object) => void;
}

export interface Upkeep {
    register(task: UpkeepTask): void;
    /** One round over every task (the timer calls this; tests call it directly). */
    runOnce(): Promise<Record<string, UpkeepOutcome>>;
    start(): void;
    stop(): Promise<void>;
}

export function createUpkeep(options: UpkeepOptions): Upkeep {

    const { knex, dialect } = options;
    const log = options.log ?? (() => {});
    const tasks: UpkeepTask[] = [];
    let timer: NodeJS.Timeout | null = null;
    let round: Promise<unknown> | null = null;

    const runTask = async (task: UpkeepTask): Promise<UpkeepOutcome> => {

        try {
            return await knex.transaction(async (trx) => {

                if (!await dialect.tryTransactionLock(trx, `upkeep:${task.name}`)) {
                    return 'busy';
                }

                const done = await task.run(trx);
                if (done) {
                    log(['upkeep', task.name], done);
                }

                return done ? 'done' : 'idle';
            });
        }
        catch (error) {
            log(['upkeep', task.name, 'error'], redactSecrets((error as Error).message));
            return 'failed';
        }
    };

    const runOnce = async (): Promise<Record<string, UpkeepOutcome>> => {

        const outcomes: Record<string, UpkeepOutcome> = {};
        let standby: boolean;
        try {
            standby = await dialect.isStandby(knex);
        }
        catch (error) {
            log(['upkeep', 'error'], redactSecrets((error as Error).message));
            return Object.fromEntries(tasks.map((task) => [task.name, 'failed']));
        }

        for (const task of tasks) {
            outcomes[task.name] = standby ? 'standby' : await runTask(task);
        }

        return outcomes;
    };

    return {
        register(task) {

            if (tasks.some((existing) => existing.name === task.name)) {
                throw new Error(`an upkeep task named ${task.name} is already registered`);
            }

            tasks.push(task);
        },
        runOnce,
        start() {

            timer ??= setInterval(() => {

                // A slow round (a long rebuild) is not overlapped by the next one.
                round ??= runOnce().finally(() => {

                    round = null;
                });
            }, options.intervalMs);
            timer.unref();
        },
        async stop() {

            if (timer) {
                clearInterval(timer);
                timer = null;
            }

            await round;
        }
    };
}
