// Timestamps leave the database as ISO-8601 UTC strings with milliseconds on
// both dialects: SQLite stores that text, and PostgreSQL's timestamptz text
// (sessions run in UTC) is rewritten to it by the engine's type parser.

const NAIVE = /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?$/;
// Already the canonical form (what toISOString() writes for years 0–9999).
const CANONICAL = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.\d{3}Z$/;
// PostgreSQL's ISO output of a timestamptz in a UTC session: microseconds at
// most, trailing zeros of the fraction dropped, "+00" for the zone.
const POSTGRES_UTC = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?\+00$/;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * True when the fields name a real instant as written: no day past the end
 * of its month, no hour 24, no leap second. Date would roll such values over
 * (or reject them), so they take the general path.
 */
function exact(match: RegExpExecArray): boolean {

    const year = Number(match[1]);
    const month = Number(match[2]);
    const day = Number(match[3]);
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    const days = month === 2 && leap ? 29 : DAYS[month - 1];
    return days !== undefined && day >= 1 && day <= days &&
        Number(match[4]) <= 23 && Number(match[5]) <= 59 && Number(match[6]) <= 59;
}

export function toIsoTimestamp(value: unknown): string | null {

    if (value === null || value === undefined || value === '') {
        return null;
    }

    if (typeof value === 'string') {
        const canonical = CANONICAL.exec(value);
        if (canonical && exact(canonical)) {
            return value;
        }
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

    const match = POSTGRES_UTC.exec(text);
    if (!match || !exact(match)) {
        return null;
    }

    const fraction = (match[7] ?? '').padEnd(3, '0').slice(0, 3);
    return `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}.${fraction}Z`;
}

export function nowIso(): string {

    return new Date().toISOString();
}
