// Timestamps leave the database as ISO-8601 UTC strings with milliseconds on
// both dialects: PostgreSQL gives Date objects, SQLite gives text.

const NAIVE = /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?$/;

export function toIsoTimestamp(value: unknown): string | null {

    if (value === null || value === undefined || value === '') {
        return null;
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

export function nowIso(): string {

    return new Date().toISOString();
}
