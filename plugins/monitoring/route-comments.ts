// Names the route in each statement a request runs on PostgreSQL, as a
// leading comment: `/* route:GET /resources/{id} */ SELECT …`. PostgreSQL
// shows it in pg_stat_activity.query, so the advisor can tell which route left
// a session idle in transaction or holds the lock another waits for. A comment
// travels with the statement: no SET, so it is safe behind a transaction-mode
// PgBouncer; pg_stat_statements ignores comments when it groups statements.
//
// The comment holds the route's template (the path with its {params}), never
// a value of the request. Statements stamped by the request-scoped knex
// (server/db/scope.ts) get it; others (background work, transaction control)
// run as they are. Named (prepared) statements are left alone: their text must
// stay the same under one name.

import type { Request } from '@hapi/hapi';
import type { Knex } from 'knex';

import { originOf } from '../../server/db/scope';
import { routeOf } from './query-monitor';

export const ROUTE_COMMENT = /^\/\* route:([^\n]{1,200}?) \*\/ /;

type QueryObject = { sql?: unknown; queryContext?: unknown; options?: { name?: unknown } };
type Client = { _query(connection: unknown, obj: QueryObject): Promise<unknown> };

const comments = new Map<string, string>();

/** The comment for a route, built once per route. */
export function routeComment(route: string): string {

    let comment = comments.get(route);
    if (comment === undefined) {
        // Route templates come from the code, but a comment must never end early.
        const safe = route.replace(/\*\//g, '* /').replace(/\/\*/g, '/ *').replace(/[^\x20-\x7e]/g, ' ').slice(0, 200);
        comment = `/* route:${safe} */ `;
        comments.set(route, comment);
    }

    return comment;
}

/** The route named by a statement's leading comment, if it has one. */
export function routeFromQuery(sql: string): string | null {

    return ROUTE_COMMENT.exec(sql)?.[1] ?? null;
}

// Statements in a transaction run on a client knex builds from the dialect's
// prototype (sharing the config object), so the prototype's _query is wrapped,
// once per process, and asks whether the statement's config wants comments.
const commenting = new WeakSet<object>();
const WRAPPED = Symbol('route comments');

type Wrappable = Client & { [WRAPPED]?: true };

/** Makes knex's client prefix request-stamped statements (its transactions' too); returns the undo. */
export function commentRoutes(knex: Knex): () => void {

    let owner = Object.getPrototypeOf(knex.client) as Wrappable | null;
    while (owner && !Object.prototype.hasOwnProperty.call(owner, '_query')) {
        owner = Object.getPrototypeOf(owner) as Wrappable | null;
    }

    if (owner && !owner[WRAPPED]) {
        const original = owner._query;
        owner._query = function (this: Client & { config?: object }, connection: unknown, obj: QueryObject) {

            if (this.config && commenting.has(this.config)) {
                const request = originOf<Request>(obj.queryContext);
                if (request?.route && typeof obj.sql === 'string' && obj.options?.name === undefined) {
                    // A copy: knex's error message and events keep the statement as written.
                    return original.call(this, connection, { ...obj, sql: routeComment(routeOf(request)) + obj.sql });
                }
            }

            return original.call(this, connection, obj);
        };
        owner[WRAPPED] = true;
    }

    const config = knex.client.config as object;
    commenting.add(config);
    return () => {

        commenting.delete(config);
    };
}
