// Watches knex's tarn pool through its events: acquire times, timeouts,
// why connections were destroyed, and when the pool runs hot. Listeners do a
// map lookup and a subtraction, so the request path stays cheap.

import { performance } from 'node:perf_hooks';

import type { PoolSettings } from '../../server/db/types';
import { RecentWindow } from './recent-window';

/** The parts of a tarn pool this module reads (knex.client.pool). */
export interface TarnPool {
    min: number;
    max: number;
    free: Array<{ resource: unknown }>;
    numUsed(): number;
    numFree(): number;
    numPendingAcquires(): number;
    numPendingCreates(): number;
    on(event: string, listener: (...args: any[]) => void): void;
    removeListener(event: string, listener: (...args: any[]) => void): void;
}

export interface PoolPressure {
    in_use: number;
    max: number;
    waiting: number;
    utilization_percent: number;
    /** Warnings held back by the rate limit since the previous one. */
    suppressed: number;
}

export interface PoolMonitorOptions {
    settings: PoolSettings;
    warnPercent: number;
    warnIntervalMs: number;
    onPressure(pressure: PoolPressure): void;
    /** Called with each connection handed out, its wait in ms and the time (performance.now()). */
    onAcquire?(ms: number, resource: object, now: number): void;
}

/** Acquire-time percentiles cover this recent window. */
export const ACQUIRE_WINDOW_MS = 60_000;

export interface AcquireTimes {
    window_s: number;
    samples: number;
    p50_ms: number | null;
    p95_ms: number | null;
    max_ms: number | null;
}

export interface PoolStatus {
    min: number;
    max: number;
    in_use: number;
    free: number;
    open: number;
    waiting: number;
    pending_creates: number;
    /** Connections checked out beyond the kept base (min). */
    overflow_in_use: number;
    /** Connections open beyond the kept base (min). */
    overflow_open: number;
    utilization_percent: number;
    acquire_timeout_ms: number;
    recycle_s: number | null;
    acquire: AcquireTimes;
    acquire_timeouts: number;
    create_failures: number;
    destroyed: { dead: number; recycled: number; idle: number };
}

type DestroyReason = 'dead' | 'recycled' | 'idle';

const round = (value: number | null, digits = 2) => (value === null ? null : Number(value.toFixed(digits)));

export class PoolMonitor {

    private readonly pending = new Map<number, number>();
    private readonly window: RecentWindow;
    private readonly listeners: Array<[string, (...args: any[]) => void]> = [];
    private timeouts = 0;
    private createFailures = 0;
    private readonly destroyed: Record<DestroyReason, number> = { dead: 0, recycled: 0, idle: 0 };
    private lastWarning = -Infinity;
    private suppressed = 0;

    constructor(private readonly pool: TarnPool, private readonly options: PoolMonitorOptions) {

        this.window = new RecentWindow(4096, ACQUIRE_WINDOW_MS);

        this.listen('acquireRequest', (eventId: number) => {

            this.pending.set(eventId, performance.now());
            // tarn announces the request before queueing it: when nothing is
            // free and nothing more can be opened, this one is about to wait.
            const full = this.pool.numFree() === 0 && this.pool.numUsed() + this.pool.numPendingCreates() >= this.pool.max;
            this.checkPressure(full ? 1 : 0);
        });

        this.listen('acquireSuccess', (eventId: number, resource: object) => {

            const now = performance.now();
            const started = this.pending.get(eventId);
            if (started !== undefined) {
                this.pending.delete(eventId);
                this.window.add(now - started, now);
                this.options.onAcquire?.(now - started, resource, now);
            }

            this.checkPressure(0);
        });

        this.listen('acquireFail', (eventId: number, error: Error) => {

            this.pending.delete(eventId);
            // tarn's TimeoutError leaves `name` as "Error"; its class name tells.
            if (error?.constructor?.name === 'TimeoutError') {
                ++this.timeouts;
            }
        });

        this.listen('createFail', () => ++this.createFailures);
        this.listen('destroyRequest', (_eventId: number, resource: any) => ++this.destroyed[this.reasonFor(resource)]);
    }

    /** Detaches every listener (the pool itself belongs to db-engine). */
    detach(): void {

        for (const [event, listener] of this.listeners) {
            this.pool.removeListener(event, listener);
        }

        this.listeners.length = 0;
        this.pending.clear();
    }

    status(): PoolStatus {

        const { pool, options: { settings } } = this;
        const used = pool.numUsed();
        const free = pool.numFree();
        const acquire = this.window.summary(performance.now());
        return {
            min: pool.min,
            max: pool.max,
            in_use: used,
            free,
            open: used + free,
            waiting: pool.numPendingAcquires(),
            pending_creates: pool.numPendingCreates(),
            overflow_in_use: Math.max(0, used - pool.min),
            overflow_open: Math.max(0, used + free - pool.min),
            utilization_percent: round(100 * used / pool.max, 1)!,
            acquire_timeout_ms: settings.acquireTimeoutMs,
            recycle_s: settings.recycleSeconds,
            acquire: {
                window_s: this.window.windowMs / 1000,
                samples: acquire.samples,
                p50_ms: round(acquire.p50, 3),
                p95_ms: round(acquire.p95, 3),
                max_ms: round(acquire.max, 3)
            },
            acquire_timeouts: this.timeouts,
            create_failures: this.createFailures,
            destroyed: { ...this.destroyed }
        };
    }

    private listen(event: string, listener: (...args: any[]) => void): void {

        this.pool.on(event, listener);
        this.listeners.push([event, listener]);
    }

    private reasonFor(resource: any): DestroyReason {

        // knex marks a connection it saw fail (socket error, cancelled query).
        if (resource?.__knex__disposed) {
            return 'dead';
        }

        // The reaper destroys idle connections straight from the free list.
        if (this.pool.free.some((entry) => entry.resource === resource)) {
            return 'idle';
        }

        // knex stamps each connection with the end of its lifetime.
        const limit = resource?.__knexLifetimeLimit;
        if (typeof limit === 'number' && performance.now() > limit) {
            return 'recycled';
        }

        // Otherwise the pool's validate (the pre-ping) rejected it.
        return 'dead';
    }

    private checkPressure(arriving: number): void {

        const { pool, options } = this;
        const used = pool.numUsed();
        const waiting = pool.numPendingAcquires() + arriving;
        const utilization = 100 * used / pool.max;
        // A one-connection pool (SQLite) is "full" whenever it works, and one
        // request queued behind another (or behind its own first query) is
        // how it takes turns: it is under pressure once more than one waits.
        if (utilization <= options.warnPercent || (pool.max === 1 && waiting <= 1)) {
            return;
        }

        const now = performance.now();
        if (now - this.lastWarning < options.warnIntervalMs) {
            ++this.suppressed;
            return;
        }

        this.lastWarning = now;
        const suppressed = this.suppressed;
        this.suppressed = 0;
        options.onPressure({ in_use: used, max: pool.max, waiting, utilization_percent: round(utilization, 1)!, suppressed });
    }
}
