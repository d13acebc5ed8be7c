// Database URL parsing and redaction: the one place that knows which URL
// forms are accepted.

import Path from 'node:path';

export type DatabaseType = 'sqlite' | 'postgres';

export type ParsedDatabaseUrl =
    | { type: 'sqlite'; filename: string }
    | { type: 'postgres'; connectionString: string };

export const ACCEPTED_URL_FORMS =
    'sqlite:<path>, sqlite:///<absolute path>, file:<path>, sqlite::memory:, ' +
    'postgres://user:pass@host:port/db or postgresql://…';

export class DatabaseUrlError extends Error {

    constructor(url: string, reason: string) {

        super(`Unsupported DATABASE_URL "${redactUrl(url)}": ${reason}. Accepted forms: ${ACCEPTED_URL_FORMS}`);
        this.name = 'DatabaseUrlError';
    }
}

/**
 * Which dialect a URL selects. Throws DatabaseUrlError for anything else.
 */
export function getDatabaseType(url: string): DatabaseType {

    return parseDatabaseUrl(url).type;
}

export function parseDatabaseUrl(url: string, baseDir = process.cwd()): ParsedDatabaseUrl {

    const trimmed = String(url ?? '').trim();
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();

    if (scheme === 'postgres' || scheme === 'postgresql') {
        let parsed: URL;
        try {
            parsed = new URL(trimmed);
        }
        catch {
            throw new DatabaseUrlError(trimmed, 'not a valid URL');
        }

        if (!parsed.hostname && !parsed.searchParams.get('host')) {
            throw new DatabaseUrlError(trimmed, 'no host');
        }

        if (!parsed.pathname || parsed.pathname === '/') {
            throw new DatabaseUrlError(trimmed, 'no database name');
        }

        return { type: 'postgres', connectionString: trimmed };
    }

    if (scheme === 'sqlite' || scheme === 'file') {
        let rest = trimmed.slice(scheme.length + 1);
        if (rest === ':memory:' || rest === '//:memory:') {
            return { type: 'sqlite', filename: ':memory:' };
        }

        // sqlite:///abs/path and file:///abs/path keep their leading slash;
        // sqlite://relative/path is read as a relative path.
        if (rest.startsWith('//')) {
            rest = rest.slice(2);
        }

        rest = rest.split('?')[0]!;
        try {
            rest = decodeURIComponent(rest);
        }
        catch {
            throw new DatabaseUrlError(trimmed, 'the path is not valid percent-encoding');
        }

        if (!rest) {
            throw new DatabaseUrlError(trimmed, 'no file path');
        }

        return { type: 'sqlite', filename: Path.resolve(baseDir, rest) };
    }

    throw new DatabaseUrlError(trimmed, scheme ? `the scheme "${scheme}:" is not supported` : 'not a URL');
}

/**
 * Hides the password (and any password-like query parameter) of a URL so it
 * can be shown or logged.
 */
export function redactUrl(url: string): string {

    const text = String(url ?? '');
    try {
        const parsed = new URL(text);
        if (parsed.password) {
            parsed.password = '***';
        }

        for (const key of [...parsed.searchParams.keys()]) {
            if (/pass|secret|token|key/i.test(key)) {
                parsed.searchParams.set(key, '***');
            }
        }

        return parsed.toString();
    }
    catch {
        return redactSecrets(text);
    }
}

/**
 * Removes credentials from free text (error messages, logs): URL passwords and
 * password=… pairs.
 */
export function redactSecrets(text: string): string {

    return String(text)
        .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@')
        .replace(/(password\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi, '$1***');
}

/**
 * Which database a URL points at, without credentials or options, so two
 * URLs for the same database (another user, another parameter) give the same
 * key: postgres://host:port/name or sqlite:<absolute path>. The key of jobs
 * that must not run twice on one database.
 */
export function databaseKey(url: string, baseDir = process.cwd()): string {

    const parsed = parseDatabaseUrl(url, baseDir);
    if (parsed.type === 'sqlite') {
        return `sqlite:${parsed.filename}`;
    }

    const location = new URL(parsed.connectionString);
    const host = (location.hostname || location.searchParams.get('host') || 'localhost').toLowerCase();
    return `postgres://${host}:${location.port || '5432'}${decodeURIComponent(location.pathname)}`;
}
