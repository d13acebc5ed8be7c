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

/**
 * The one switch on a database type: the value `choices` gives for `type`.
 * Each feature picks its dialect implementation with one call, so nothing
 * else tests the type.
 */
export function forDialect<T>(type: DatabaseType, choices: Readonly<Record<DatabaseType, T>>): T {

    return choices[type];
}

type ParsedOf<K extends DatabaseType> = Extract<ParsedDatabaseUrl, { type: K }>;

/** Applies the handler of a parsed URL's dialect to it (typed per dialect). */
export function onDatabase<T>(parsed: ParsedDatabaseUrl, handlers: { readonly [K in DatabaseType]: (parsed: ParsedOf<K>) => T }): T {

    return (handlers[parsed.type] as (parsed: ParsedDatabaseUrl) => T)(parsed);
}

/** Every dialect, in the order tools list them. */
export const DATABASE_TYPES: readonly DatabaseType[] = ['sqlite', 'postgres'];

/** True for the name of a dialect (a tool's --dialects option, for example). */
export function isDatabaseType(name: string): name is DatabaseType {

    return (DATABASE_TYPES as readonly string[]).includes(name);
}

/** How each dialect is named to people (messages, the console). */
export const DATABASE_NAMES: Readonly<Record<DatabaseType, string>> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

/** The SQLite filename of a database that lives in its connection's memory. */
const IN_MEMORY = ':memory:';

// Which dialect each accepted URL scheme selects.
const SCHEMES = new Map<string, DatabaseType>([['postgres', 'postgres'], ['postgresql', 'postgres'], ['sqlite', 'sqlite'], ['file', 'sqlite']]);

const PARSERS: { readonly [K in DatabaseType]: (url: string, scheme: string, baseDir: string) => ParsedOf<K> } = {
    postgres(url) {

        let parsed: URL;
        try {
            parsed = new URL(url);
        }
        catch {
            throw new DatabaseUrlError(url, 'not a valid URL');
        }

        if (!parsed.hostname && !parsed.searchParams.get('host')) {
            throw new DatabaseUrlError(url, 'no host');
        }

        if (!parsed.pathname || parsed.pathname === '/') {
            throw new DatabaseUrlError(url, 'no database name');
        }

        return { type: 'postgres', connectionString: url };
    },
    sqlite(url, scheme, baseDir) {

        let rest = url.slice(scheme.length + 1);
        if (rest === ':memory:' || rest === '//:memory:') {
            return { type: 'sqlite', filename: IN_MEMORY };
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
            throw new DatabaseUrlError(url, 'the path is not valid percent-encoding');
        }

        if (!rest) {
            throw new DatabaseUrlError(url, 'no file path');
        }

        return { type: 'sqlite', filename: Path.resolve(baseDir, rest) };
    }
};

export function parseDatabaseUrl(url: string, baseDir = process.cwd()): ParsedDatabaseUrl {

    const trimmed = String(url ?? '').trim();
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
    const type = scheme === undefined ? undefined : SCHEMES.get(scheme);
    if (!type) {
        throw new DatabaseUrlError(trimmed, scheme ? `the scheme "${scheme}:" is not supported` : 'not a URL');
    }

    return PARSERS[type](trimmed, scheme!, baseDir);
}

/** What knex connects to: the SQLite file (or :memory:) or the PostgreSQL connection string. */
export function connectionTarget(parsed: ParsedDatabaseUrl): string {

    return onDatabase(parsed, { sqlite: ({ filename }) => filename, postgres: ({ connectionString }) => connectionString });
}

/** The database a parsed URL names, without credentials, safe to show and log. */
export function displayTarget(parsed: ParsedDatabaseUrl): string {

    return onDatabase(parsed, { sqlite: ({ filename }) => `sqlite:${filename}`, postgres: ({ connectionString }) => redactUrl(connectionString) });
}

/**
 * True for an in-memory SQLite database: it exists only on its one
 * connection, so nothing can open it a second time (another engine, a
 * backup, a data migration).
 */
export function isInMemory(parsed: ParsedDatabaseUrl): boolean {

    return onDatabase(parsed, { sqlite: ({ filename }) => filename === IN_MEMORY, postgres: () => false });
}

/** True for an in-memory SQLite filename (as a SQLite connection config holds it). */
export function isInMemoryFilename(filename: string | undefined): boolean {

    return filename === IN_MEMORY;
}

/**
 * True for a database that can have streaming read replicas (PostgreSQL);
 * SQLite has one writer and no replicas.
 */
export function hasReplicas(parsed: ParsedDatabaseUrl): boolean {

    return forDialect(parsed.type, { sqlite: false, postgres: true });
}

/** True when two parsed URLs select the same dialect. */
export function sameDialect(a: ParsedDatabaseUrl, b: ParsedDatabaseUrl): boolean {

    return a.type === b.type;
}

/**
 * True when two URLs name the same database (databaseKey: the same file, or
 * the same host, port and database name whatever the user or options).
 */
export function sameDatabase(a: string, b: string, baseDir = process.cwd()): boolean {

    return databaseKey(a, baseDir) === databaseKey(b, baseDir);
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

    return onDatabase(parseDatabaseUrl(url, baseDir), {
        sqlite: ({ filename }) => `sqlite:${filename}`,
        postgres: ({ connectionString }) => {

            const location = new URL(connectionString);
            const host = (location.hostname || location.searchParams.get('host') || 'localhost').toLowerCase();
            return `postgres://${host}:${location.port || '5432'}${decodeURIComponent(location.pathname)}`;
        }
    });
}
