// The one error mapper: database, model and pool errors become Boom errors
// with messages that help the client and leak no SQL, stack or credentials.

import Boom from '@hapi/boom';
import { KnexTimeoutError } from 'knex';
import {
    CheckViolationError,
    DataError,
    ForeignKeyViolationError,
    NotFoundError,
    NotNullViolationError,
    UniqueViolationError,
    ValidationError
} from 'objection';

import { errorCode, errorMessageMatches } from './db/dialects/common';
import { RetryExhaustedError } from './db/retry';

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 1;

export function serviceUnavailable(message: string, retryAfterSeconds = RETRY_AFTER_SECONDS): Boom.Boom {

    const error = Boom.serverUnavailable(message);
    error.output.headers['Retry-After'] = String(retryAfterSeconds);
    return error;
}

/** Set on the 503 for a schema the code expects but the database lacks (core logs it). */
export const SCHEMA_OUTDATED = 'schema-outdated';

function columnOf(error: any): string | undefined {

    return error?.columns?.[0] ?? error?.column ?? undefined;
}

/**
 * Maps database, model and pool errors to a Boom error, or returns null when
 * the error is none of those. Works on errors hapi has already boomified.
 */
export function mapDatabaseError(error: unknown): Boom.Boom | null {

    if (error instanceof ValidationError) {
        return Boom.badRequest(error.message);
    }

    if (error instanceof NotFoundError) {
        return Boom.notFound('Not found');
    }

    if (error instanceof KnexTimeoutError) {
        return serviceUnavailable('The database is busy: no connection became free in time. Retry shortly.');
    }

    if (error instanceof RetryExhaustedError) {
        return serviceUnavailable('The update conflicted with concurrent changes too many times. Retry shortly.');
    }

    if (error instanceof UniqueViolationError) {
        const columns = (error as any).columns as string[] | undefined;
        return Boom.conflict(columns?.length ? `A record with the same ${columns.join(', ')} already exists` : 'A record with the same unique value already exists');
    }

    if (error instanceof ForeignKeyViolationError) {
        return Boom.conflict('The change conflicts with related records: a referenced record does not exist, or the record is still referenced');
    }

    if (error instanceof NotNullViolationError) {
        const column = columnOf(error);
        return Boom.badRequest(column ? `"${column}" is required` : 'A required value is missing');
    }

    if (error instanceof CheckViolationError) {
        return Boom.badRequest('A value is outside the allowed set or range');
    }

    if (error instanceof DataError) {
        return Boom.badRequest('A value has the wrong format for its field');
    }

    const code = errorCode(error);
    if (isSchemaMissing(error, code)) {
        // Migrations rolled back or never applied: no retry helps until an
        // operator applies them, so clients are told to come back later.
        const unavailable = serviceUnavailable('The database schema is not up to date: an operator must apply the pending migrations.', 30);
        unavailable.data = { reason: SCHEMA_OUTDATED };
        return unavailable;
    }

    switch (code) {
        case '57014':                       // query_canceled (statement_timeout)
            return serviceUnavailable('The query took too long and was cancelled.', 5);
        case '53300':                       // too_many_connections
        case '57P01':                       // admin_shutdown
        case '57P03':                       // cannot_connect_now
        case 'ECONNREFUSED':
        case 'ECONNRESET':
        case 'ETIMEDOUT':
        case 'SQLITE_BUSY':
        case 'SQLITE_LOCKED':
            return serviceUnavailable('The database is unavailable or busy. Retry shortly.', 5);
    }

    if (code && /^08/.test(code)) {         // connection_exception class
        return serviceUnavailable('The database connection failed. Retry shortly.', 5);
    }

    return null;
}

/** A table or column the statement names does not exist (PostgreSQL 42P01/42703, SQLite "no such …"). */
function isSchemaMissing(error: unknown, code: string | undefined): boolean {

    if (code === '42P01' || code === '42703') {
        return true;
    }

    return code === 'SQLITE_ERROR' && errorMessageMatches(error, /\bno such (table|column)\b/);
}

/**
 * Any error to a Boom error: deliberate Boom errors pass through, database
 * errors are mapped, everything else is a 500 whose details stay in the log.
 */
export function toBoom(error: unknown): Boom.Boom {

    if (Boom.isBoom(error) && error.output.statusCode !== 500) {
        return error;
    }

    return mapDatabaseError(error) ?? (Boom.isBoom(error) ? error : Boom.boomify(error instanceof Error ? error : new Error(String(error))));
}

/** True when a DB error is a foreign-key violation (for 422 on writes). */
export function isForeignKeyViolation(error: unknown): boolean {

    return error instanceof ForeignKeyViolationError;
}

/** True when a driver error is a unique-constraint violation (PostgreSQL 23505, SQLite "UNIQUE constraint failed"). */
export function isUniqueViolation(error: unknown): boolean {

    return error instanceof UniqueViolationError || errorCode(error) === '23505' ||
        (errorCode(error) === 'SQLITE_CONSTRAINT' && errorMessageMatches(error, /UNIQUE constraint failed/));
}
