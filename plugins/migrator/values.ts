// Value conversion between dialects and the normalized form both sides are
// checksummed from. Driven by column kinds read from the catalogs, so a
// value is converted by what the column is, never by what the value looks like.

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

export function toJson(column: string, raw: unknown): unknown {

    if (typeof raw !== 'string') {
        return raw;
    }

    try {
        return JSON.parse(raw);
    }
    catch {
        throw new ValueError(column, `not valid JSON: ${raw.slice(0, 40)}`);
    }
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

/** True when a JSON value holds an object with more than one key (key order then matters). */
function hasMultiKeyObject(value: unknown): boolean {

    if (value === null || typeof value !== 'object') {
        return false;
    }

    if (Array.isArray(value)) {
        for (const item of value) {
            if (item !== null && typeof item === 'object' && hasMultiKeyObject(item)) {
                return true;
            }
        }

        return false;
    }

    const keys = Object.keys(value);
    return keys.length > 1 || keys.length === 1 && hasMultiKeyObject((value as Record<string, unknown>)[keys[0]!]);
}

function sortedJson(value: unknown): string {

    if (value === null || typeof value !== 'object') {
        return JSON.stringify(value) ?? 'null';
    }

    if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; ++i) {
            out += (i ? ',' : '') + sortedJson(value[i]);
        }

        return out + ']';
    }

    const keys = Object.keys(value).sort();
    let out = '{';
    for (let i = 0; i < keys.length; ++i) {
        out += (i ? ',' : '') + JSON.stringify(keys[i]) + ':' + sortedJson((value as Record<string, unknown>)[keys[i]!]);
    }

    return out + '}';
}

/**
 * JSON with object keys sorted, so equal documents give equal text whatever
 * their key order (JSONB reorders keys). Numbers are written as JSON writes
 * them: JSONB has no -0 either. Documents without a multi-key object (arrays
 * of floats such as embeddings) take the native serializer.
 */
export function canonicalJson(value: unknown): string {

    return hasMultiKeyObject(value) ? sortedJson(value) : JSON.stringify(value) ?? 'null';
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
        case 'json': return 'J' + canonicalJson(toJson(column, raw));
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
        case 'json': return typeof raw === 'string' ? JSON.stringify(toJson(column, raw)) : JSON.stringify(raw);
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
