// Times every query knex runs and attributes it to the route whose request
// issued it. By default ('request' mode) the request is read from the
// statement's query context, which request.knex and request.models stamp
// (server/db/scope.ts). In 'async' mode it travels through AsyncLocalStorage,
// entered when hapi receives the request, which also reaches code that uses
// server.knex inside a request but costs throughput on Node 20. Queries from
// elsewhere (start-up, timers, a request that has already ended) count as
// background work.

import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import type { Request } from '@hapi/hapi';
import type { Knex } from 'knex';

import type { QueryAttribution } from '../../server/config';
import { errorCode } from '../../server/db/dialects/common';
import { originOf } from '../../server/db/scope';
import { redactSecrets } from '../../server/db/url';
import { requestIdOf } from '../../server/logging';

export interface RequestContext {
    readonly request: Request;
    queries: number;
    timeMs: number;
    maxMs: number;
    done: boolean;
}

declare module '@hapi/hapi' {
    interface PluginsStates {
        monitoring?: RequestContext;
    }
}

export interface SlowQuery {
    at: string;
    duration_ms: number;
    /** The statement with placeholders: bindings are never kept. */
    sql: string;
    bindings: number;
    /** "GET /resources/{id}", or null for background work. */
    route: string | null;
    request_id: string | null;
    failed: boolean;
}

export interface RouteQueryStats {
    route: string;
    requests: number;
    queries: number;
    queries_per_request: number;
    total_query_ms: number;
    max_query_ms: number;
    max_queries_per_request: number;
    /** Requests that ran more queries than the N+1 threshold. */
    n_plus_one_requests: number;
    suspected_n_plus_one: boolean;
}

export interface QueryReport {
    /** False when QUERY_ATTRIBUTION is off: queries are not tied to routes. */
    attribution: boolean;
    attribution_mode: QueryAttribution;
    slow_query_ms: number;
    n_plus_one_threshold: number;
    slow_queries_total: number;
    slow_queries: SlowQuery[];
    routes: RouteQueryStats[];
    background: { queries: number; total_query_ms: number; max_query_ms: number };
}

export interface QueryMonitorOptions {
    /**
     * How a query finds its request: its query context ('request'), also
     * AsyncLocalStorage ('async'), or not at all ('off': requests are still
     * counted per route but every query counts as background).
     */
    attribution: QueryAttribution;
    slowQueryMs: number;
    slowLogSize: number;
    nPlusOneQueries: number;
    onSlowQuery(entry: SlowQuery, request: Request | null): void;
    /** Told of each statement's start and end too (the connection holds), with the time read once. */
    statements?: StatementWatcher;
}

export interface StatementWatcher {
    started(query: any, now: number): void;
    ended(query: any, now: number): void;
}

interface InFlight {
    started: number;
    context: RequestContext | undefined;
    sql: string;
    bindings: number;
}

interface RouteTotals {
    requests: number;
    queries: number;
    timeMs: number;
    maxMs: number;
    maxQueries: number;
    nPlusOne: number;
}

const MAX_SQL_LENGTH = 2000;

// A query cut short by knex's own .timeout() reports neither a response nor
// an error; past this many open entries, ones older than STALE_MS go.
const MAX_IN_FLIGHT = 10_000;
const STALE_MS = 10 * 60_000;

const round = (value: number) => Number(value.toFixed(3));

// Every answered request asks for its route's name a few times: built once per route.
const routeNames = new WeakMap<object, string>();

export function routeOf(request: Request): string {

    // hapi's catch-all for unknown paths has the method '_special'.
    const route = request.route;
    if ((route.method as string) === '_special') {
        return `${request.method.toUpperCase()} (no route)`;
    }

    // A '*' route serves several methods: its name depends on the request's.
    if ((route.method as string) === '*') {
        return `${request.method.toUpperCase()} ${route.path}`;
    }

    let name = routeNames.get(route);
    if (name === undefined) {
        name = `${request.method.toUpperCase()} ${route.path}`;
        routeNames.set(route, name);
    }

    return name;
}

export class QueryMonitor {

    private readonly storage: AsyncLocalStorage<RequestContext> | null;
    private readonly inFlight = new Map<string, InFlight>();
    private readonly routes = new Map<string, RouteTotals>();
    private readonly slow: SlowQuery[] = [];
    private readonly errors = new Map<string, number>();
    private readonly background = { queries: 0, timeMs: 0, maxMs: 0 };
    private slowTotal = 0;

    private readonly onQuery = (query: any) => {

        // Transaction control (BEGIN, COMMIT, …) has no uid and never reports
        // a response: it is not counted.
        if (query.__knexQueryUid === undefined) {
            return;
        }

        if (this.inFlight.size >= MAX_IN_FLIGHT) {
            this.forgetStale();
        }

        const now = performance.now();
        this.options.statements?.started(query, now);
        this.inFlight.set(query.__knexQueryUid, {
            started: now,
            context: this.storage ? this.current() : undefined,
            sql: query.sql,
            bindings: query.bindings?.length ?? 0
        });
    };

    private readonly onResponse = (_response: unknown, query: any) => this.finish(query, false);

    private readonly onError = (error: unknown, query: any) => {

        const code = errorCode(error);
        if (code) {
            this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
        }

        this.finish(query, true);
    };

    constructor(private readonly knex: Knex, readonly options: QueryMonitorOptions) {

        this.storage = options.attribution === 'async' ? new AsyncLocalStorage() : null;

        knex.on('query', this.onQuery);
        knex.on('query-response', this.onResponse);
        knex.on('query-error', this.onError);
    }

    private readonly others: Knex[] = [];

    /** Counts the statements of another knex too (a read replica's), attributed the same way. */
    observe(knex: Knex): void {

        knex.on('query', this.onQuery);
        knex.on('query-response', this.onResponse);
        knex.on('query-error', this.onError);
        this.others.push(knex);
    }

    detach(): void {

        for (const knex of [this.knex, ...this.others]) {
            knex.off('query', this.onQuery);
            knex.off('query-response', this.onResponse);
            knex.off('query-error', this.onError);
        }

        this.inFlight.clear();
    }

    /** True when requests must be entered (see enter()). */
    get tracksAsyncContext(): boolean {

        return this.storage !== null;
    }

    /**
     * 'async' mode: makes the request the context of everything that follows
     * it. Must be called from the first onRequest extension (see index.ts):
     * the rest of the lifecycle then runs as continuations of this point, so
     * extensions, pre-handlers and the handler all see it.
     */
    enter(request: Request): void {

        this.storage?.enterWith(this.contextOf(request));
    }

    /** Adds a finished request to its route's totals. */
    complete(request: Request, key = routeOf(request)): void {

        const context = this.contextOf(request);
        if (context.done) {
            return;
        }

        // server.inject() runs onRequest synchronously inside the caller, so
        // the caller's context also holds this request: marking it done keeps
        // the caller's later queries out of this route.
        context.done = true;
        let totals = this.routes.get(key);
        if (!totals) {
            totals = { requests: 0, queries: 0, timeMs: 0, maxMs: 0, maxQueries: 0, nPlusOne: 0 };
            this.routes.set(key, totals);
        }

        ++totals.requests;
        totals.queries += context.queries;
        totals.timeMs += context.timeMs;
        totals.maxMs = Math.max(totals.maxMs, context.maxMs);
        totals.maxQueries = Math.max(totals.maxQueries, context.queries);
        if (context.queries > this.options.nPlusOneQueries) {
            ++totals.nPlusOne;
        }
    }

    /** The request whose work is running now, if known ('async' mode only). */
    currentRequest(): Request | null {

        return this.current()?.request ?? null;
    }

    /** Query errors seen so far, by driver error code. */
    errorCount(code: string): number {

        return this.errors.get(code) ?? 0;
    }

    report(): QueryReport {

        const routes = [...this.routes.entries()].map(([route, totals]): RouteQueryStats => ({
            route,
            requests: totals.requests,
            queries: totals.queries,
            queries_per_request: round(totals.queries / totals.requests),
            total_query_ms: round(totals.timeMs),
            max_query_ms: round(totals.maxMs),
            max_queries_per_request: totals.maxQueries,
            n_plus_one_requests: totals.nPlusOne,
            suspected_n_plus_one: totals.nPlusOne > 0
        }));

        routes.sort((a, b) => b.total_query_ms - a.total_query_ms || a.route.localeCompare(b.route));
        return {
            attribution: this.options.attribution !== 'off',
            attribution_mode: this.options.attribution,
            slow_query_ms: this.options.slowQueryMs,
            n_plus_one_threshold: this.options.nPlusOneQueries,
            slow_queries_total: this.slowTotal,
            slow_queries: [...this.slow].reverse(),
            routes,
            background: {
                queries: this.background.queries,
                total_query_ms: round(this.background.timeMs),
                max_query_ms: round(this.background.maxMs)
            }
        };
    }

    private forgetStale(): void {

        const cutoff = performance.now() - STALE_MS;
        // Map iteration follows insertion order: oldest first.
        for (const [uid, entry] of this.inFlight) {
            if (entry.started > cutoff) {
                return;
            }

            this.inFlight.delete(uid);
        }
    }

    private contextOf(request: Request): RequestContext {

        let context = request.plugins.monitoring;
        if (!context) {
            context = { request, queries: 0, timeMs: 0, maxMs: 0, done: false };
            request.plugins.monitoring = context;
        }

        return context;
    }

    private current(): RequestContext | undefined {

        const context = this.storage?.getStore();
        return context && !context.done ? context : undefined;
    }

    /** The request a finished query belongs to: its stamp, else its async context. */
    private owner(query: any, entry: InFlight): RequestContext | undefined {

        if (this.options.attribution === 'off') {
            return undefined;
        }

        const request = originOf<Request>(query.queryContext);
        return request?.plugins ? this.contextOf(request) : entry.context;
    }

    private finish(query: any, failed: boolean): void {

        const entry = this.inFlight.get(query.__knexQueryUid);
        if (!entry) {
            return;
        }

        this.inFlight.delete(query.__knexQueryUid);
        const now = performance.now();
        this.options.statements?.ended(query, now);
        const duration = now - entry.started;
        const owner = this.owner(query, entry);
        const target = owner && !owner.done ? owner : null;
        if (target) {
            ++target.queries;
            target.timeMs += duration;
            target.maxMs = Math.max(target.maxMs, duration);
        }
        else {
            ++this.background.queries;
            this.background.timeMs += duration;
            this.background.maxMs = Math.max(this.background.maxMs, duration);
        }

        if (duration >= this.options.slowQueryMs) {
            this.recordSlow(entry, duration, failed, target?.request ?? null);
        }
    }

    private recordSlow(entry: InFlight, duration: number, failed: boolean, request: Request | null): void {

        const slow: SlowQuery = {
            at: new Date().toISOString(),
            duration_ms: round(duration),
            sql: redactSecrets(String(entry.sql ?? '')).slice(0, MAX_SQL_LENGTH),
            bindings: entry.bindings,
            route: request ? routeOf(request) : null,
            request_id: request ? requestIdOf(request) : null,
            failed
        };

        ++this.slowTotal;
        this.slow.push(slow);
        if (this.slow.length > this.options.slowLogSize) {
            this.slow.shift();
        }

        this.options.onSlowQuery(slow, request);
    }
}
