// Console login sessions, kept in memory: the cookie only carries a random
// session id, so logging out (or a restart) ends a session for good even if
// the cookie was copied.

import { randomBytes } from 'node:crypto';

export interface ConsoleSession {
    id: string;
    createdAt: number;
    expiresAt: number;
}

export interface SessionStoreOptions {
    ttlMs: number;
    /** Oldest sessions are dropped beyond this many, so repeated logins cannot grow memory. */
    maxSessions?: number;
    now?: () => number;
}

export class SessionStore {

    readonly ttlMs: number;
    readonly #maxSessions: number;
    readonly #now: () => number;
    readonly #sessions = new Map<string, ConsoleSession>();

    constructor({ ttlMs, maxSessions = 1000, now = Date.now }: SessionStoreOptions) {

        this.ttlMs = ttlMs;
        this.#maxSessions = maxSessions;
        this.#now = now;
    }

    get size(): number {

        return this.#sessions.size;
    }

    create(): ConsoleSession {

        this.#sweep();
        while (this.#sessions.size >= this.#maxSessions) {
            // Maps iterate in insertion order: the first key is the oldest session.
            this.#sessions.delete(this.#sessions.keys().next().value!);
        }

        const createdAt = this.#now();
        const session = { id: randomBytes(32).toString('base64url'), createdAt, expiresAt: createdAt + this.ttlMs };
        this.#sessions.set(session.id, session);
        return session;
    }

    /** The live session with this id, or null when unknown or expired. */
    get(id: unknown): ConsoleSession | null {

        if (typeof id !== 'string') {
            return null;
        }

        const session = this.#sessions.get(id);
        if (!session) {
            return null;
        }

        if (session.expiresAt <= this.#now()) {
            this.#sessions.delete(id);
            return null;
        }

        return session;
    }

    revoke(id: unknown): void {

        if (typeof id === 'string') {
            this.#sessions.delete(id);
        }
    }

    #sweep(): void {

        const now = this.#now();
        for (const [id, session] of this.#sessions) {
            if (session.expiresAt <= now) {
                this.#sessions.delete(id);
            }
        }
    }
}
