// Console login sessions, kept in the database so every instance knows every
// session and a restart logs nobody out. The cookie carries a random session
// id (sealed with SESSION_SECRET); the table holds only its SHA-256, so a copy
// of the database cannot be turned into a cookie. Logging out deletes the row:
// the session ends on every instance, even for a copied cookie.

import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

import { sha256 } from '../security/secrets';

export interface ConsoleSession {
    id: string;
    createdAt: number;
    expiresAt: number;
}

export interface SessionStoreOptions {
    ttlMs: number;
    now?: () => number;
}

interface SessionRow {
    created_at: string;
    expires_at: string;
}

export class SessionStore {

    readonly ttlMs: number;
    readonly #knex: () => Knex;
    readonly #now: () => number;

    constructor(knex: () => Knex, { ttlMs, now = Date.now }: SessionStoreOptions) {

        this.ttlMs = ttlMs;
        this.#knex = knex;
        this.#now = now;
    }

    async create(): Promise<ConsoleSession> {

        const createdAt = this.#now();
        const session = { id: randomBytes(32).toString('base64url'), createdAt, expiresAt: createdAt + this.ttlMs };
        await this.#knex()('console_sessions').insert({
            id_hash: sha256(session.id, 'hex'),
            created_at: new Date(session.createdAt).toISOString(),
            expires_at: new Date(session.expiresAt).toISOString()
        });
        return session;
    }

    /** The live session with this id, or null when unknown, ended or expired. */
    async get(id: unknown): Promise<ConsoleSession | null> {

        if (typeof id !== 'string' || !/^[\w-]{43}$/.test(id)) {
            return null;
        }

        const row: SessionRow | undefined = await this.#knex()('console_sessions')
            .first('created_at', 'expires_at')
            .where('id_hash', sha256(id, 'hex'))
            .where('expires_at', '>', new Date(this.#now()).toISOString());
        return row ? { id, createdAt: Date.parse(row.created_at), expiresAt: Date.parse(row.expires_at) } : null;
    }

    async revoke(id: unknown): Promise<void> {

        if (typeof id === 'string') {
            await this.#knex()('console_sessions').where('id_hash', sha256(id, 'hex')).delete();
        }
    }
}
