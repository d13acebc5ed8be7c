// Request-scoped database handles. `request.knex` and `request.models` are
// views of the process-wide knex and models that stamp every statement they
// build with a query context naming the request. Whoever listens to knex's
// query events (the monitoring plugin) can then tell which request issued a
// statement by reading `queryContext`, with no async-context tracking: on
// Node 20, AsyncLocalStorage's promise hooks cost a quarter of the throughput
// of a primary-key lookup, this costs a property write per statement.
//
// Statements built from a view are stamped; so are statements built from a
// transaction the view opened, and Objection queries (eager loads included)
// and transactions (Model.transaction, Model.startTransaction) that run on
// the view. Code that reaches for `server.knex` directly is not.

import type { Knex } from 'knex';

import type { Models } from '../models';

/** The query context of every statement built through a scoped handle. */
export interface QueryOrigin<T = unknown> {
    readonly origin: T;
}

/** The origin stamped on a statement, if it was built through a scoped handle. */
export function originOf<T>(queryContext: unknown): T | undefined {

    return queryContext !== null && typeof queryContext === 'object' && 'origin' in queryContext
        ? (queryContext as QueryOrigin<T>).origin
        : undefined;
}

type Stampable = { queryContext(context: unknown): unknown };

const SCOPE = Symbol('query origin');

interface Scoped {
    [SCOPE]: QueryOrigin;
}

function stamp<T>(built: T, context: QueryOrigin): T {

    (built as unknown as Stampable).queryContext(context);
    return built;
}

// Per knex instance, once: the methods that differ from knex's own, between
// the views and the instance in the prototype chain. knex's shorthand
// methods (select, from, insert, …) build on this.queryBuilder(), so they
// are stamped through the one here.
const layers = new WeakMap<Knex, object>();

function layerOf(knex: Knex): object {

    let layer = layers.get(knex);
    if (!layer) {
        layer = Object.create(knex, {
            queryBuilder: {
                value(this: Scoped) {

                    return stamp(knex.queryBuilder(), this[SCOPE]);
                }
            },
            raw: {
                value(this: Scoped, ...args: Parameters<Knex['raw']>) {

                    return stamp(knex.raw(...args), this[SCOPE]);
                }
            },
            transaction: {
                value(this: Scoped, container?: unknown, config?: Knex.TransactionConfig) {

                    const context = this[SCOPE];
                    if (typeof container === 'function') {
                        return knex.transaction((trx) => (container as (trx: Knex.Transaction) => Promise<unknown>)(scopeKnex(trx, context)), config);
                    }

                    return knex.transaction((container ?? config) as Knex.TransactionConfig)
                        .then((trx: Knex.Transaction) => scopeKnex(trx, context));
                }
            }
        });
        layers.set(knex, layer!);
    }

    return layer!;
}

/**
 * A knex look-alike whose builders, raws and transactions carry `context`.
 * Every other property (fn, schema, client, ref, …) is the underlying
 * instance's, through the prototype chain.
 */
export function scopeKnex<K extends Knex>(knex: K, context: QueryOrigin): K {

    const view = function scoped(table?: any, options?: any) {

        return stamp(knex(table, options), context);
    };

    Object.setPrototypeOf(view, layerOf(knex));
    (view as unknown as Scoped)[SCOPE] = context;
    return view as unknown as K;
}

type ModelClass = {
    query(trx?: unknown): unknown;
    relatedQuery(name: string, trx?: unknown): unknown;
    transaction(knexOrTrx: unknown, callback?: unknown): unknown;
    startTransaction(knexOrTrx?: unknown): unknown;
};

/**
 * The models, each running its static queries on `knex` (a scoped view)
 * unless given a transaction. Built lazily: a model never used by a request
 * costs nothing. Instances are the ordinary model classes' instances.
 */
export function scopeModels(models: Models, knex: Knex): Models {

    const cache = new Map<string, unknown>();
    return new Proxy(models, {
        get(target, name: string) {

            const model = target[name as keyof Models] as unknown as ModelClass | undefined;
            if (typeof model !== 'function') {
                return model;
            }

            let scoped = cache.get(name);
            if (!scoped) {
                const cls: ModelClass = model;
                scoped = new Proxy(cls, {
                    get(_target, property) {

                        if (property === 'query') {
                            return (trx?: unknown) => cls.query(trx ?? knex);
                        }

                        if (property === 'relatedQuery') {
                            return (relation: string, trx?: unknown) => cls.relatedQuery(relation, trx ?? knex);
                        }

                        // Objection opens these on the class's own knex: open them on
                        // the view, so the statements inside carry the request too.
                        if (property === 'transaction') {
                            return (knexOrTrx: unknown, callback?: unknown) => callback === undefined ? cls.transaction(knex, knexOrTrx) : cls.transaction(knexOrTrx ?? knex, callback);
                        }

                        if (property === 'startTransaction') {
                            return (knexOrTrx?: unknown) => cls.startTransaction(knexOrTrx ?? knex);
                        }

                        // Everything else is the class's own, called on the class
                        // itself: Objection caches per class, and a proxy as `this`
                        // would miss those caches on every request. Methods have no
                        // prototype; classes and constructors (QueryBuilder, …) do
                        // and are returned as they are.
                        const value = Reflect.get(cls, property, cls);
                        return typeof value === 'function' && value.prototype === undefined ? value.bind(cls) : value;
                    }
                });
                cache.set(name, scoped);
            }

            return scoped;
        }
    });
}
