// At most PAGE_CONCURRENCY list and search pages are built at once per
// process; the others wait their turn without holding memory or a database
// connection. A page of 100 resources is a few megabytes and ~100 ms of CPU:
// twenty built at once held twenty copies in memory and starved the event
// loop, so /health took seconds. The wait is bounded: past PAGE_WAIT_MS the
// request answers 503 with Retry-After.

import type { Lifecycle, Request } from '@hapi/hapi';

import { serviceUnavailable } from '../../server/errors';

export const PAGE_CONCURRENCY = 4;
export const PAGE_WAIT_MS = 30_000;

/** The routes whose answer is a page of resources. */
export const PAGE_ROUTES = new Set([
    'get /resources',
    'get /search',
    'get /collections/{id}/resources',
    'get /resources/{id}/annotations'
]);

export interface PageGate {
    /** onPreHandler: waits for a slot. */
    enter: Lifecycle.Method;
    /** The server's 'response' event (the answer has been sent or abandoned): frees the slot. */
    leave(request: Request): void;
    readonly active: number;
    readonly waiting: number;
}

export function createPageGate(concurrency = PAGE_CONCURRENCY, waitMs = PAGE_WAIT_MS): PageGate {

    let active = 0;
    const queue: Array<() => void> = [];

    const release = () => {

        const next = queue.shift();
        if (next) {
            next();
        }
        else {
            --active;
        }
    };

    const acquire = (request: Request): Promise<void> => {

        if (active < concurrency) {
            ++active;
            return Promise.resolve();
        }

        return new Promise((resolve, reject) => {

            const turn = () => {

                clearTimeout(timer);
                resolve();
            };

            const timer = setTimeout(() => {

                queue.splice(queue.indexOf(turn), 1);
                reject(serviceUnavailable('The server is busy building other large pages. Retry shortly.', 2));
            }, waitMs);
            queue.push(turn);
            // A client that gave up no longer needs its turn.
            request.events.once('disconnect', () => {

                const index = queue.indexOf(turn);
                if (index !== -1) {
                    queue.splice(index, 1);
                    clearTimeout(timer);
                }
            });
        });
    };

    const holders = new WeakSet<Request>();
    return {
        async enter(request, h) {

            if (!PAGE_ROUTES.has(`${request.route.method} ${request.route.path}`)) {
                return h.continue;
            }

            await acquire(request);
            holders.add(request);
            return h.continue;
        },
        leave(request) {

            if (holders.delete(request)) {
                release();
            }
        },
        get active() {

            return active;
        },
        get waiting() {

            return queue.length;
        }
    };
}
