// Maintenance mode: the library read-only while it moves. The switch is the
// one row of maintenance_mode, shared by every instance; each instance reads
// it at most once per MAINTENANCE_CACHE_MS, so a switch takes effect on all
// of them within that time.

import type { Knex } from 'knex';

import { nowIso } from './time';

export const MAINTENANCE_TABLE = 'maintenance_mode';
export const MAINTENANCE_CACHE_MS = 1000;
export const DEFAULT_MAINTENANCE_MESSAGE = 'The library is read-only for maintenance; reads work, writes are refused until it ends.';

export interface MaintenanceState {
    enabled: boolean;
    message: string;
    retryAfterSeconds: number;
    changedBy: string | null;
    changedAt: string | null;
}

export interface MaintenanceChange {
    enabled: boolean;
    message?: string | null;
    retryAfterSeconds?: number;
    changedBy: string;
}

const OFF: MaintenanceState = { enabled: false, message: DEFAULT_MAINTENANCE_MESSAGE, retryAfterSeconds: 300, changedBy: null, changedAt: null };

/** The switch as stored; off when the database predates the table. */
export async function readMaintenance(knex: Knex): Promise<MaintenanceState> {

    let row;
    try {
        row = await knex(MAINTENANCE_TABLE).where('id', 1).first();
    }
    catch (error) {
        if (!await knex.schema.hasTable(MAINTENANCE_TABLE)) {
            return OFF;
        }

        throw error;
    }

    return row ? {
        enabled: Boolean(row.enabled),
        message: row.message || DEFAULT_MAINTENANCE_MESSAGE,
        retryAfterSeconds: Number(row.retry_after_seconds),
        changedBy: row.changed_by ?? null,
        changedAt: row.changed_at ?? null
    } : OFF;
}

/** Sets the switch; throws when the database has no maintenance table (run its migrations first). */
export async function setMaintenance(knex: Knex, change: MaintenanceChange): Promise<MaintenanceState> {

    if (!await knex.schema.hasTable(MAINTENANCE_TABLE)) {
        throw new Error(`the database has no ${MAINTENANCE_TABLE} table: apply its pending migrations first`);
    }

    const values = {
        enabled: change.enabled,
        message: change.message ?? null,
        retry_after_seconds: change.retryAfterSeconds ?? 300,
        changed_by: change.changedBy.slice(0, 100),
        changed_at: nowIso()
    };
    await knex(MAINTENANCE_TABLE).insert({ id: 1, ...values }).onConflict('id').merge(values);
    return await readMaintenance(knex);
}

/** The switch as one instance sees it: read from the database at most once per MAINTENANCE_CACHE_MS. */
export class MaintenanceSwitch {

    private cached: { state: MaintenanceState; at: number } | null = null;
    private reading: Promise<MaintenanceState> | null = null;

    constructor(private readonly knex: Knex, private readonly cacheMs = MAINTENANCE_CACHE_MS) {}

    async current(): Promise<MaintenanceState> {

        if (this.cached && Date.now() - this.cached.at < this.cacheMs) {
            return this.cached.state;
        }

        // Concurrent requests share one read.
        this.reading ??= readMaintenance(this.knex).then((state) => {

            this.cached = { state, at: Date.now() };
            return state;
        }).finally(() => {

            this.reading = null;
        });
        return await this.reading;
    }

    async set(change: MaintenanceChange): Promise<MaintenanceState> {

        const state = await setMaintenance(this.knex, change);
        this.cached = { state, at: Date.now() };
        return state;
    }
}
