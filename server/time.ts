// Timestamps leave the database as ISO-8601 UTC strings with milliseconds on
// both dialects: SQLite stores that text, and PostgreSQL's timestamptz text
// (sessions run in UTC) is rewritten to it by the engine's type parser.

const NAIVE = /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?$/;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

// The fast paths below read the text by character codes: they run for every
// timestamp a data migration moves (millions), where a regular expression's
// match array and Number() calls were a measurable part of the run.

/** The value of `count` decimal digits at `start`, or -1 if one is not a digit 0–9. */
function digitsAt(text: string, start: number, count: number): number {

    let value = 0;
    for (let i = start; i < start + count; ++i) {
        const code = text.charCodeAt(i) - 48;
        if (code < 0 || code > 9) {
            return -1;
        }

        value = value * 10 + code;
    }

    return value;
}

/**
 * True when "YYYY-MM-DD?HH:MM:SS" at the start of `text` (any separator
 * between date and time) names a real instant as written: no day past the
 * end of its month, no hour 24, no leap second. Date would roll such values
 * over (or reject them), so they take the general path.
 */
function exactDateTime(text: string): boolean {

    if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) {
        return false;
    }

    const year = digitsAt(text, 0, 4);
    const month = digitsAt(text, 5, 2);
    const day = digitsAt(text, 8, 2);
    const hour = digitsAt(text, 11, 2);
    const minute = digitsAt(text, 14, 2);
    const second = digitsAt(text, 17, 2);
    if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
        return false;
    }

    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    return day <= (month === 2 && leap ? 29 : DAYS[month - 1]!);
}

/** Already the canonical form (what toISOString() writes for years 0–9999): YYYY-MM-DDTHH:MM:SS.sssZ. */
function isCanonical(text: string): boolean {

    return text.length === 24 && text.charCodeAt(10) === 84 && text.charCodeAt(19) === 46 && text.charCodeAt(23) === 90 &&
        digitsAt(text, 20, 3) >= 0 && exactDateTime(text);
}

export function toIsoTimestamp(value: unknown): string | null {

    if (value === null || value === undefined || value === '') {
        return null;
    }

    if (typeof value === 'string' && isCanonical(value)) {
        return value;
    }

    let date: Date;
    if (value instanceof Date) {
        date = value;
    }
    else if (typeof value === 'number') {
        // Unix epoch: seconds when small enough, otherwise milliseconds.
        date = new Date(Math.abs(value) < 1e11 ? value * 1000 : value);
    }
    else {
        const text = String(value).trim();
        // Text without a zone is UTC (SQLite's CURRENT_TIMESTAMP form), never local time.
        date = new Date(NAIVE.test(text) ? `${text.replace(' ', 'T')}Z` : text);
    }

    if (Number.isNaN(date.getTime())) {
        throw new TypeError(`Not a valid timestamp: ${String(value).slice(0, 40)}`);
    }

    return date.toISOString();
}

/**
 * PostgreSQL's text of a timestamptz in a UTC session as the canonical ISO
 * string (milliseconds, the rest of the fraction cut as Date would cut it),
 * or null for text of another shape (BC years, infinity, another zone), which
 * the caller parses the general way.
 */
export function postgresUtcToIso(text: string): string | null {

    // YYYY-MM-DD HH:MM:SS, then .f to .ffffff (trailing zeros dropped), then +00.
    const length = text.length;
    if (length < 22 || length > 29 || length === 23 || text.charCodeAt(10) !== 32 ||
        text.charCodeAt(length - 3) !== 43 || text.charCodeAt(length - 2) !== 48 || text.charCodeAt(length - 1) !== 48 || !exactDateTime(text)) {
        return null;
    }

    let fraction = '000';
    if (length > 22) {
        if (text.charCodeAt(19) !== 46 || digitsAt(text, 20, length - 23) < 0) {
            return null;
        }

        fraction = (text.slice(20, Math.min(23, length - 3)) + '00').slice(0, 3);
    }

    return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction}Z`;
}

export function nowIso(): string {

    return new Date().toISOString();
}
