// Idempotency-Key on the routes that create: the first request with a key
// does its work and stores its answer in the same transaction; a repeat of
// the same request gets that answer again (no second resource); the same key
// with another request is refused. Keys expire after IDEMPOTENCY_KEY_TTL_MS.

import { createHash } from 'node:crypto';

import Boom from '@hapi/boom';
import type { Request, ResponseObject, ResponseToolkit } from '@hapi/hapi';
import type { Knex } from 'knex';

import { isUniqueViolation } from '../../server/errors';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;
/** Set on a replayed answer. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

const KEY = /^[\x21-\x7e]{1,200}$/;

/** What a creating handler answers, as it is stored for a replay. */
export interface StoredResponse {
    status: number;
    body: unknown;
    location?: string;
}

interface KeyRow {
    fingerprint: string;
    status_code: number | null;
    response_body: string | null;
    location: string | null;
}

function fingerprintOf(request: Request): string {

    return createHash('sha256').update(`${request.method} ${request.path}\n${JSON.stringify(request.payload ?? null)}`).digest('hex');
}

function respond(h: ResponseToolkit, stored: StoredResponse): ResponseObject {

    const response = h.response(stored.body as object).code(stored.status);
    return stored.location ? response.location(stored.location) : response;
}

async function replay(h: ResponseToolkit, row: KeyRow, fingerprint: string): Promise<ResponseObject> {

    if (row.fingerprint !== fingerprint) {
        throw Boom.badData('This Idempotency-Key was already used for a different request (another path or body): use a new key for a new request');
    }

    const stored = { status: row.status_code!, body: row.response_body === null ? null : JSON.parse(row.response_body), location: row.location ?? undefined };
    return respond(h, stored).header(REPLAYED_HEADER, 'true');
}

/**
 * Runs `work` in a transaction. With an Idempotency-Key header, the key and
 * the answer are stored in that transaction, and a repeat replays the answer.
 */
export async function createIdempotently(request: Request, h: ResponseToolkit, work: (trx: Knex.Transaction) => Promise<StoredResponse>): Promise<ResponseObject> {

    const header = request.headers[IDEMPOTENCY_HEADER] as string | undefined;
    if (header === undefined) {
        return respond(h, await request.knex.transaction(work));
    }

    if (!KEY.test(header)) {
        throw Boom.badRequest('"Idempotency-Key" must be 1 to 200 visible ASCII characters (a UUID is a good choice)');
    }

    const fingerprint = fingerprintOf(request);
    const now = new Date();
    const live = (): Promise<KeyRow | undefined> => request.knex('idempotency_keys').select('fingerprint', 'status_code', 'response_body', 'location')
        .where('key', header).where('expires_at', '>', now.toISOString()).first();

    const existing = await live();
    if (existing) {
        return await replay(h, existing, fingerprint);
    }

    try {
        const stored = await request.knex.transaction(async (trx) => {

            // Expired keys go first (this one too, if it expired), so the insert below can take it.
            await trx('idempotency_keys').where('expires_at', '<=', now.toISOString()).delete();
            // A concurrent request with the same key waits here until this
            // transaction ends, then fails on the key and replays this answer.
            await trx('idempotency_keys').insert({
                key: header,
                fingerprint,
                created_at: now.toISOString(),
                expires_at: new Date(now.getTime() + IDEMPOTENCY_KEY_TTL_MS).toISOString()
            });
            const result = await work(trx);
            await trx('idempotency_keys').where('key', header).update({
                status_code: result.status,
                response_body: JSON.stringify(result.body ?? null),
                location: result.location ?? null
            });
            return result;
        });
        return respond(h, stored);
    }
    catch (error) {
        if (!isUniqueViolation(error)) {
            throw error;
        }

        const winner = await live();
        if (!winner) {
            throw error;
        }

        return await replay(h, winner, fingerprint);
    }
}
