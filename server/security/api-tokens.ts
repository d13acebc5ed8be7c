// API tokens for the data API (API_AUTH=writes|all): created and revoked from
// the CLI (scripts/api-tokens.ts) and the console, named, shown once at
// creation and stored only as a SHA-256 digest (a token is 256 random bits, so
// a fast hash is enough: there is nothing to brute-force). The last use is
// written at most once a minute per token, so a busy client costs one small
// update a minute, not one per request.

import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

import { sha256 } from './secrets';

export const API_TOKEN_PREFIX = 'na_';
/** Last-use times closer together than this are not written. */
export const LAST_USED_RESOLUTION_MS = 60_000;
export const TOKEN_NAME_MAX = 100;

const TOKEN_SHAPE = /^na_[\w-]{43}$/;

export interface ApiToken {
    id: string;
    name: string;
    /** The token's first characters, to tell tokens apart in a listing. */
    hint: string;
    createdAt: string;
    lastUsedAt: string | null;
    revokedAt: string | null;
}

export interface CreatedApiToken {
    token: ApiToken;
    /** The token itself: shown once, never stored. */
    secret: string;
}

/** A refused token operation, with a message for the operator (CLI line, console alert, 4xx). */
export class ApiTokenError extends Error {

    constructor(message: string, readonly reason: 'invalid' | 'conflict' | 'not-found') {

        super(message);
        this.name = 'ApiTokenError';
    }
}

interface TokenRow {
    id: string;
    name: string;
    hint: string;
    created_at: string;
    last_used_at: string | null;
    revoked_at: string | null;
}

const COLUMNS = ['id', 'name', 'hint', 'created_at', 'last_used_at', 'revoked_at'];

function toToken(row: TokenRow): ApiToken {

    return { id: row.id, name: row.name, hint: row.hint, createdAt: row.created_at, lastUsedAt: row.last_used_at, revokedAt: row.revoked_at };
}

/** The name as stored, or ApiTokenError saying what is wrong with it. */
export function tokenName(candidate: unknown): string {

    const name = typeof candidate === 'string' ? candidate.trim() : '';
    // eslint-disable-next-line no-control-regex -- control characters are what the rule refuses.
    if (!name || name.length > TOKEN_NAME_MAX || /[\u0000-\u001f\u007f]/.test(name)) {
        throw new ApiTokenError(`A token name is 1–${TOKEN_NAME_MAX} characters without control characters (for example "catalogue-importer")`, 'invalid');
    }

    return name;
}

export async function createApiToken(knex: Knex, name: unknown, now = Date.now()): Promise<CreatedApiToken> {

    const checked = tokenName(name);
    const secret = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row: TokenRow = {
        id: randomUUID(),
        name: checked,
        hint: secret.slice(0, API_TOKEN_PREFIX.length + 4),
        created_at: new Date(now).toISOString(),
        last_used_at: null,
        revoked_at: null
    };

    try {
        await knex('api_tokens').insert({ ...row, token_hash: sha256(secret, 'hex') });
    }
    catch (error) {
        if (await knex('api_tokens').first('id').where('name', checked).whereNull('revoked_at')) {
            throw new ApiTokenError(`An active API token named "${checked}" already exists: revoke it or choose another name`, 'conflict');
        }

        throw error;
    }

    return { token: toToken(row), secret };
}

/** Every token, active ones first, newest first. */
export async function listApiTokens(knex: Knex): Promise<ApiToken[]> {

    const rows: TokenRow[] = await knex('api_tokens').select(COLUMNS)
        .orderByRaw('CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END')
        .orderBy('created_at', 'desc')
        .orderBy('id');
    return rows.map(toToken);
}

/** Revokes the active token with this name (or id); it is refused from then on, on every instance. */
export async function revokeApiToken(knex: Knex, nameOrId: unknown, now = Date.now()): Promise<ApiToken> {

    const key = typeof nameOrId === 'string' ? nameOrId.trim() : '';
    const byId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(key);
    const revokedAt = new Date(now).toISOString();
    const rows: TokenRow[] = await knex('api_tokens')
        .where(byId ? 'id' : 'name', byId ? key.toLowerCase() : key)
        .whereNull('revoked_at')
        .update({ revoked_at: revokedAt })
        .returning(COLUMNS);
    if (!rows.length) {
        throw new ApiTokenError(`There is no active API token named "${key}"`, 'not-found');
    }

    return toToken(rows[0]!);
}

/** The active token a presented secret belongs to, or null. Records the last use (at most once a minute). */
export async function verifyApiToken(knex: Knex, presented: string, now = Date.now()): Promise<ApiToken | null> {

    if (!TOKEN_SHAPE.test(presented)) {
        return null;
    }

    const row: TokenRow | undefined = await knex('api_tokens').first(COLUMNS)
        .where('token_hash', sha256(presented, 'hex'))
        .whereNull('revoked_at');
    if (!row) {
        return null;
    }

    const stale = new Date(now - LAST_USED_RESOLUTION_MS).toISOString();
    if (row.last_used_at === null || row.last_used_at < stale) {
        row.last_used_at = new Date(now).toISOString();
        // Conditional, so instances racing on the same minute write once.
        await knex('api_tokens').where('id', row.id)
            .where((query) => query.whereNull('last_used_at').orWhere('last_used_at', '<', stale))
            .update({ last_used_at: row.last_used_at });
    }

    return toToken(row);
}
