// Value conversion between dialects and the normalized form both sides are
// checksummed from. Driven by column kinds read from the catalogs, so a
// value is converted by what the column is, never by what the value looks like.

import { LosslessNumber, parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';

import { toIsoTimestamp } from '../../server/time';
import type { ColumnKind } from './types';

export class ValueError extends Error {

    constructor(column: string, reason: string) {

        super(`column ${column}: ${reason}`);
        this.name = 'ValueError';
    }
}

/** A number as text that survives a round trip exactly (including -0). */
export function numberText(value: number): string {

    return Object.is(value, -0) ? '-0' : String(value);
}

function toNumber(column: string, raw: unknown): number {

    const value = typeof raw === 'number' ? raw : Number(raw);
    if (typeof raw === 'string' && raw.trim() === '' || Number.isNaN(value) && raw !== 'NaN') {
        throw new ValueError(column, `not a number: ${String(raw).slice(0, 40)}`);
    }

    return value;
}

export function toBoolean(column: string, raw: unknown): boolean {

    if (raw === true || raw === 1 || raw === '1' || raw === 't' || raw === 'true') {
        return true;
    }

    if (raw === false || raw === 0 || raw === '0' || raw === 'f' || raw === 'false') {
        return false;
    }

    throw new ValueError(column, `not a boolean: ${String(raw).slice(0, 40)}`);
}

function toText(column: string, raw: unknown): string {

    if (typeof raw === 'string') {
        return raw;
    }

    if (typeof raw === 'number' || typeof raw === 'bigint') {
        // SQLite's type affinity lets a number sit in a text column.
        return String(raw);
    }

    throw new ValueError(column, `unexpected ${Buffer.isBuffer(raw) ? 'binary' : typeof raw} value in a text column`);
}

function toTimestamp(column: string, raw: unknown): string {

    try {
        return toIsoTimestamp(raw)!;
    }
    catch (error) {
        throw new ValueError(column, (error as Error).message);
    }
}

/** A JSON number kept as the text it was written with. */
class JsonNumber {

    constructor(readonly text: string) {}
}

function parseJson(column: string, text: string, parseNumber: (text: string) => unknown = (number) => new JsonNumber(number)): unknown {

    try {
        return parseLossless(text, null, parseNumber);
    }
    catch (error) {
        throw new ValueError(column, `not valid JSON: ${text.slice(0, 40)} (${(error as Error).message})`);
    }
}

/**
 * The exact decimal value of a JSON number as `[-]digits[eN]`: no leading or
 * trailing zeros, so 1e-300, 0.000…1 and 10e-301 give the same text, and
 * 12345678901234567890 keeps every digit. Zero has no sign (JSONB has no -0).
 */
export function canonicalNumber(text: string): string {

    let exponentAt = text.indexOf('e');
    if (exponentAt < 0) {
        exponentAt = text.indexOf('E');
    }

    const negative = text.charCodeAt(0) === 45;
    const mantissa = text.slice(negative ? 1 : 0, exponentAt < 0 ? text.length : exponentAt);
    const dot = mantissa.indexOf('.');
    let digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
    let first = 0;
    while (first < digits.length - 1 && digits.charCodeAt(first) === 48) {
        ++first;
    }

    let last = digits.length;
    while (last > first && digits.charCodeAt(last - 1) === 48) {
        --last;
    }

    if (last === first) {
        return '0';
    }

    const trailing = digits.length - last;
    digits = digits.slice(first, last);
    const written = exponentAt < 0 ? '0' : text.slice(exponentAt + 1);
    // An exponent beyond 2^53 (never from a database, but valid JSON) stays exact as a BigInt.
    const exponent = written.length < 16 ?
        String(Number(written) - (dot < 0 ? 0 : mantissa.length - dot - 1) + trailing) :
        String(BigInt(written) - BigInt(dot < 0 ? 0 : mantissa.length - dot - 1) + BigInt(trailing));
    return (negative ? '-' : '') + digits + (exponent === '0' ? '' : `e${exponent}`);
}

function canonicalText(value: unknown): string {

    if (value instanceof JsonNumber) {
        return canonicalNumber(value.text);
    }

    if (value === null || typeof value !== 'object') {
        return JSON.stringify(value);
    }

    if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; ++i) {
            out += (i ? ',' : '') + canonicalText(value[i]);
        }

        return out + ']';
    }

    // Keys sorted: JSONB reorders them.
    const keys = Object.keys(value).sort();
    let out = '{';
    for (let i = 0; i < keys.length; ++i) {
        out += (i ? ',' : '') + JSON.stringify(keys[i]) + ':' + canonicalText((value as Record<string, unknown>)[keys[i]!]);
    }

    return out + '}';
}

/**
 * The canonical exact text of a JSON document: keys sorted, no whitespace,
 * strings re-escaped one way, numbers by their exact decimal value (never
 * through a double). Equal documents give equal text whatever wrote them.
 */
export function canonicalJson(column: string, raw: unknown): string {

    return canonicalText(typeof raw === 'string' ? parseJson(column, raw) : parseJson(column, JSON.stringify(raw)));
}

/** JSON text for SQLite: compact, every number as written. */
function compactJson(column: string, raw: unknown): string {

    return typeof raw === 'string' ? stringifyLossless(parseJson(column, raw, (number) => new LosslessNumber(number)))! : JSON.stringify(raw);
}

/**
 * The normalized text of one value for checksums and row comparison. Built
 * from the raw driver value of either dialect: SQLite's JSON text and
 * PostgreSQL's parsed JSONB, 0/1 and booleans, ISO text and Date all meet here.
 */
export function normalizedValue(kind: ColumnKind, column: string, raw: unknown): string {

    if (raw === null || raw === undefined) {
        return 'N';
    }

    switch (kind) {
        case 'json': return 'J' + canonicalJson(column, raw);
        case 'timestamp': return 'T' + toTimestamp(column, raw);
        case 'boolean': return toBoolean(column, raw) ? 'B1' : 'B0';
        case 'integer':
        case 'float': return 'F' + numberText(toNumber(column, raw));
        case 'uuid': return 'U' + toText(column, raw).toLowerCase();
        default: return 'S' + toText(column, raw);
    }
}

/** A value ready to bind into a SQLite statement. */
export function sqliteValue(kind: ColumnKind, column: string, raw: unknown): unknown {

    if (raw === null || raw === undefined) {
        return null;
    }

    switch (kind) {
        case 'json': return compactJson(column, raw);
        case 'timestamp': return toTimestamp(column, raw);
        case 'boolean': return toBoolean(column, raw) ? 1 : 0;
        case 'integer':
        case 'float': return toNumber(column, raw);
        case 'uuid': return toText(column, raw).toLowerCase();
        default: return toText(column, raw);
    }
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Escapes text for COPY's text format: backslash, newline, carriage return
 * and the tab delimiter are the only characters it treats specially.
 */
export function copyEscape(text: string): string {

    return COPY_SPECIAL.test(text) ? text.replace(/[\\\n\r\t]/g, (char) => COPY_ESCAPES[char]!) : text;
}

/** One field of a COPY text-format row for a PostgreSQL column. */
export function copyField(kind: ColumnKind, column: string, raw: unknown): string {

    if (raw === null || raw === undefined) {
        return '\\N';
    }

    switch (kind) {
        // JSON text from SQLite goes through as written (jsonb parses and keeps
        // every digit); parsed values from another source are serialized.
        case 'json': return copyEscape(typeof raw === 'string' ? raw : JSON.stringify(raw));
        case 'timestamp': return toTimestamp(column, raw);
        case 'boolean': return toBoolean(column, raw) ? 't' : 'f';
        case 'integer':
        case 'float': return numberText(toNumber(column, raw));
        default: return copyEscape(toText(column, raw));
    }
}
