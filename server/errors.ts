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

/** Set on the 503 for a database fault no rule names (core logs it as an error). */
export const DATABASE_FAULT = 'database-fault';

/** What the mapper needs to know about the request an error ended. */
export interface ErrorContext {
    /** The request may have changed data (any method but GET/HEAD/OPTIONS). */
    write?: boolean;
}

export const OUTCOME_UNKNOWN = 'The database connection was lost during the request: the outcome is unknown; retry with the same Idempotency-Key.';

// A connection that died under a running statement: the server ended it
// (57P01/57P02), the socket broke, or node-postgres saw the stream end with
// no SQLSTATE at all.
const LOST_CONNECTION_CODES = new Set(['57P01', '57P02', '08000', '08003', '08006', '08007', 'ECONNRESET', 'EPIPE']);
const LOST_CONNECTION_MESSAGE = /Connection terminated( unexpectedly)?|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|This socket has been ended by the other party/;

/** True when the connection a statement ran on was lost mid-statement. */
export function isConnectionLost(error: unknown, code = errorCode(error)): boolean {

    return (code !== undefined && LOST_CONNECTION_CODES.has(code)) || errorMessageMatches(error, LOST_CONNECTION_MESSAGE);
}

/**
 * A statement the code got wrong (PostgreSQL class 42 but missing privileges,
 * SQLite's generic SQLITE_ERROR): a bug to fix, so it stays a 500.
 */
function isStatementBug(code: string): boolean {

    return (code.startsWith('42') && code !== '42501') || code === 'SQLITE_ERROR';
}

/** A driver error (PostgreSQL SQLSTATE, SQLite result code) that no other rule named. */
function isDriverError(code: string | undefined): code is string {

    return code !== undefined && (/^[0-9A-Z]{5}$/.test(code) || code.startsWith('SQLITE_'));
}

/**
 * Maps database, model and pool errors to a Boom error, or returns null when
 * the error is none of those. Works on errors hapi has already boomified.
 */
export function mapDatabaseError(error: unknown, context: ErrorContext = {}): Boom.Boom | null {

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

    if (isConnectionLost(error, code)) {
        // A write may or may not have committed: only an idempotent retry is safe.
        return serviceUnavailable(context.write ? OUTCOME_UNKNOWN : 'The database connection was lost. Retry shortly.', 1);
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

    if (code === '25006' || code === 'SQLITE_READONLY') {  // read_only_sql_transaction
        return serviceUnavailable('The database is read-only (a standby, or writes are switched off): the change was not made. Retry once it accepts writes.', 30);
    }

    if (code === '22021' || code === '22P05') {             // invalid byte sequence, untranslatable character
        return Boom.badRequest('A value contains characters the database cannot store (NUL or invalid Unicode)');
    }

    if (code && /^22/.test(code)) {                         // data_exception class outside Objection
        return Boom.badRequest('A value has the wrong format or is out of range for its field');
    }

    if (isDriverError(code) && !isStatementBug(code)) {
        // Any other database error class (resources, system, operator,
        // transaction state, …): the request did not complete and a retry
        // may succeed; the details go to the log, not to the client.
        const fault = serviceUnavailable('The database could not complete the request. Retry shortly.', 5);
        fault.data = { reason: DATABASE_FAULT };
        return fault;
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
