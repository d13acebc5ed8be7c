// What only the application can see: which route holds pool connections right
// now and for how long, how long each route waited to get one, and how long a
// route kept a connection idle between its statements (idle in transaction,
// as the database sees it, but with the route that left it open).
//
// The pool monitor hands over each connection it saw checked out (with its
// wait), the query monitor each statement's start and end, so the request
// path pays for one set of listeners; tarn's release event ends a hold. The
// first statement run on a connection gives the route (from the request
// stamped on the query, or the async context). Each call does map lookups and
// a subtraction; the per-route totals cover the process's lifetime.

import { performance } from 'node:perf_hooks';
import type { Request } from '@hapi/hapi';

import type { TarnPool } from './pool-monitor';
import { routeOf } from './query-monitor';

export const BACKGROUND_ROUTE = '(background)';
export const UNKNOWN_ROUTE = '(no statement yet)';

interface Hold {
    acquiredAt: number;
    waitMs: number;
    route: string | null;
    /** Statements running on it now. */
    running: number;
    /** When it last went idle (acquire, or a statement's end). */
    idleSince: number;
    idleMs: number;
    maxIdleMs: number;
}

interface RouteTotals {
    acquires: number;
    waitMs: number;
    maxWaitMs: number;
    holdMs: number;
    maxHoldMs: number;
    idleMs: number;
    maxIdleMs: number;
}

export interface HeldNow {
    route: string;
    connections: number;
    longest_hold_ms: number;
}

export interface RouteConnectionStats {
    route: string;
    acquires: number;
    acquire_wait_total_ms: number;
    acquire_wait_mean_ms: number;
    acquire_wait_max_ms: number;
    hold_total_ms: number;
    hold_max_ms: number;
    /** Time connections sat idle between statements while this route held them. */
    idle_in_transaction_total_ms: number;
    idle_in_transaction_max_ms: number;
}

export interface ConnectionReport {
    held_now: HeldNow[];
    routes: RouteConnectionStats[];
}

const round = (value: number) => Math.round(value * 100) / 100;

export class ConnectionHolds {

    private readonly held = new Map<object, Hold>();
    private readonly byUid = new Map<string, Hold>();
    private readonly totals = new Map<string, RouteTotals>();
    private readonly onRelease = (resource: object) => this.release(resource);

    constructor(
        private readonly pool: TarnPool,
        /** The request a statement runs for, if any. */
        private readonly requestOf: (query: any) => Request | null
    ) {

        pool.on('release', this.onRelease);
    }

    detach(): void {

        this.pool.removeListener('release', this.onRelease);
    }

    /** A connection handed out by the pool after `waitMs` (from the pool monitor). */
    acquired(resource: object, waitMs: number, now: number): void {

        this.held.set(resource, { acquiredAt: now, waitMs, route: null, running: 0, idleSince: now, idleMs: 0, maxIdleMs: 0 });
    }

    /** A statement starts (from the query monitor; transaction control is left out there). */
    started(query: any, now: number): void {

        const hold = this.holdOf(query.__knexUid);
        if (!hold) {
            return;
        }

        if (hold.running === 0) {
            this.idle(hold, now);
        }

        ++hold.running;
        if (hold.route === null) {
            const request = this.requestOf(query);
            hold.route = request ? routeOf(request) : BACKGROUND_ROUTE;
        }
    }

    /** A statement answered or failed. */
    ended(query: any, now: number): void {

        const hold = this.holdOf(query.__knexUid);
        if (hold && hold.running > 0 && --hold.running === 0) {
            hold.idleSince = now;
        }
    }

    report(): ConnectionReport {

        const now = performance.now();
        const held = new Map<string, HeldNow>();
        for (const hold of this.held.values()) {
            const route = hold.route ?? UNKNOWN_ROUTE;
            const entry = held.get(route) ?? { route, connections: 0, longest_hold_ms: 0 };
            ++entry.connections;
            entry.longest_hold_ms = Math.max(entry.longest_hold_ms, round(now - hold.acquiredAt));
            held.set(route, entry);
        }

        const routes = [...this.totals.entries()].map(([route, t]): RouteConnectionStats => ({
            route,
            acquires: t.acquires,
            acquire_wait_total_ms: round(t.waitMs),
            acquire_wait_mean_ms: round(t.waitMs / Math.max(1, t.acquires)),
            acquire_wait_max_ms: round(t.maxWaitMs),
            hold_total_ms: round(t.holdMs),
            hold_max_ms: round(t.maxHoldMs),
            idle_in_transaction_total_ms: round(t.idleMs),
            idle_in_transaction_max_ms: round(t.maxIdleMs)
        }));
        routes.sort((a, b) => b.hold_total_ms - a.hold_total_ms || a.route.localeCompare(b.route));
        return {
            held_now: [...held.values()].sort((a, b) => b.longest_hold_ms - a.longest_hold_ms),
            routes
        };
    }

    private holdOf(uid: string | undefined): Hold | undefined {

        if (!uid) {
            return undefined;
        }

        let hold = this.byUid.get(uid);
        if (!hold) {
            // knex names a connection (__knexUid) after tarn hands it over:
            // find it once per checkout.
            for (const [resource, candidate] of this.held) {
                if ((resource as { __knexUid?: string }).__knexUid === uid) {
                    hold = candidate;
                    this.byUid.set(uid, hold);
                    break;
                }
            }
        }

        return hold;
    }

    /** Adds the idle stretch since the last statement (none before the first one). */
    private idle(hold: Hold, now: number): void {

        if (hold.route !== null) {
            const gap = now - hold.idleSince;
            hold.idleMs += gap;
            hold.maxIdleMs = Math.max(hold.maxIdleMs, gap);
        }
    }

    private release(resource: object): void {

        const hold = this.held.get(resource);
        if (!hold) {
            return;
        }

        this.held.delete(resource);
        const uid = (resource as { __knexUid?: string }).__knexUid;
        if (uid) {
            this.byUid.delete(uid);
        }

        const now = performance.now();
        if (hold.running === 0) {
            this.idle(hold, now);
        }

        const route = hold.route ?? BACKGROUND_ROUTE;
        let totals = this.totals.get(route);
        if (!totals) {
            totals = { acquires: 0, waitMs: 0, maxWaitMs: 0, holdMs: 0, maxHoldMs: 0, idleMs: 0, maxIdleMs: 0 };
            this.totals.set(route, totals);
        }

        const heldMs = now - hold.acquiredAt;
        ++totals.acquires;
        totals.waitMs += hold.waitMs;
        totals.maxWaitMs = Math.max(totals.maxWaitMs, hold.waitMs);
        totals.holdMs += heldMs;
        totals.maxHoldMs = Math.max(totals.maxHoldMs, heldMs);
        totals.idleMs += hold.idleMs;
        totals.maxIdleMs = Math.max(totals.maxIdleMs, hold.maxIdleMs);
    }
}
