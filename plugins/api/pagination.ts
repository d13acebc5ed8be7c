// Opaque keyset cursors: (sort value, id) of the last row of a page.

import Boom from '@hapi/boom';

import { isStorableTimestamp } from '../../server/input';

export interface Cursor {
    sort: string;
    order: 'asc' | 'desc';
    value: string | number;
    id: string;
}

export function encodeCursor(cursor: Cursor): string {

    return Buffer.from(JSON.stringify([cursor.sort, cursor.order, cursor.value, cursor.id])).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function validValue(sort: string, value: unknown): boolean {

    if (sort === 'quality_score') {
        return typeof value === 'number' && Number.isFinite(value);
    }

    return isStorableTimestamp(value);
}

export function decodeCursor(text: string, sort: string, order: string): Cursor {

    let parts: unknown;
    try {
        parts = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    }
    catch {
        throw Boom.badRequest('"cursor" is not a cursor returned by this API');
    }

    if (!Array.isArray(parts) || parts.length !== 4 ||
        typeof parts[3] !== 'string' || !['string', 'number'].includes(typeof parts[2])) {
        throw Boom.badRequest('"cursor" is not a cursor returned by this API');
    }

    if (parts[0] !== sort || parts[1] !== order) {
        throw Boom.badRequest('"cursor" was issued for a different sort or order; repeat the same sort and order');
    }

    // A forged value would be compared as text on SQLite and refused by
    // PostgreSQL: both answer this 400 instead.
    if (!UUID.test(parts[3]) || !validValue(sort, parts[2])) {
        throw Boom.badRequest('"cursor" is not a cursor returned by this API');
    }

    return { sort: parts[0], order: parts[1], value: parts[2], id: parts[3] };
}

interface Countable {
    count(column: Record<string, string>): PromiseLike<unknown>;
}

/**
 * Runs a page query and the exact count of the same filter together
 * (`counted` must be a separate query builder with the same filters).
 */
export async function pageWithTotal<T>(page: PromiseLike<T[]>, counted: Countable): Promise<{ total: number; items: T[] }> {

    const [items, rows] = await Promise.all([page, counted.count({ total: '*' })]);
    return { total: Number((rows as Array<{ total: number | string }>)[0]!.total), items };
}
