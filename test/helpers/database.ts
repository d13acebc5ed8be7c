// Test databases: a temporary SQLite file per test file by default, or the
// PostgreSQL database of TEST_DATABASE_URL / TEST_DIALECT=postgres, rebuilt
// from the migrations once per test run and emptied between test files.

import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import { randomUUID } from 'node:crypto';
import Knex, { type Knex as KnexType } from 'knex';

import { testDatabaseUrl } from '../../server/config';
import { createDatabaseEngine } from '../../server/db/engine';
import { migrationConfig } from '../../server/db/migrations';
import type { DatabaseEngine } from '../../server/db/types';
import { getDatabaseType, type DatabaseType } from '../../server/db/url';

const pgUrl = testDatabaseUrl();

export const dialect: DatabaseType = pgUrl ? getDatabaseType(pgUrl) : 'sqlite';
export const isPostgres = dialect === 'postgres';

/** Lab flag for tests that only make sense on PostgreSQL (named "postgres only: …"). */
export const postgresOnly = { skip: !isPostgres };
/** Lab flag for tests that only make sense on SQLite (named "sqlite only: …"). */
export const sqliteOnly = { skip: isPostgres };

const tmpRoot = Path.join(Os.tmpdir(), 'neo-alexandria-tests');

/** A fresh SQLite file path under the temp directory. */
export function tempSqlitePath(label = 'db'): string {

    Fs.mkdirSync(tmpRoot, { recursive: true });
    return Path.join(tmpRoot, `${label}-${process.pid}-${randomUUID()}.db`);
}

export function removeSqliteFiles(filename: string): void {

    for (const suffix of ['', '-wal', '-shm', '-journal']) {
        Fs.rmSync(`${filename}${suffix}`, { force: true });
    }
}

/** A connection to the server's maintenance database, and the database name a URL names. */
function maintenance(url: string): { admin: KnexType; name: string } {

    const parsed = new URL(url);
    const name = decodeURIComponent(parsed.pathname.slice(1));
    parsed.pathname = '/postgres';
    return { admin: Knex({ client: 'pg', connection: parsed.toString(), pool: { min: 0, max: 1 } }), name };
}

/** Creates the PostgreSQL database of a URL when it does not exist. */
export async function ensurePostgresDatabase(url: string): Promise<void> {

    const { admin, name } = maintenance(url);
    try {
        const { rows } = await admin.raw('SELECT 1 FROM pg_database WHERE datname = ?', [name]);
        if (!rows.length) {
            await admin.raw('CREATE DATABASE ??', [name]);
        }
    }
    finally {
        await admin.destroy();
    }
}

/** Drops the database a URL names, through the maintenance database (the named one may be the only other). */
export async function dropPostgresDatabase(url: string): Promise<void> {

    const { admin, name } = maintenance(url);
    try {
        await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
    }
    finally {
        await admin.destroy();
    }
}

let pgPrepared: Promise<void> | null = null;

async function preparePostgres(url: string): Promise<void> {

    await ensurePostgresDatabase(url);
    const engine = createDatabaseEngine(url, { min: 0, max: 2 });
    try {
        // A clean schema built by the migrations, once per test run.
        await engine.knex.raw('DROP SCHEMA IF EXISTS public CASCADE');
        await engine.knex.raw('CREATE SCHEMA public');
        await engine.knex.migrate.latest(migrationConfig);
    }
    finally {
        await engine.destroy();
    }
}

export interface TestDatabase {
    url: string;
    type: DatabaseType;
    /** Removes the temporary file (SQLite); PostgreSQL is left for the next file. */
    cleanup(): Promise<void>;
}

/**
 * The database for one test file, migrated and empty. On SQLite a new file;
 * on PostgreSQL the shared test database with every table emptied.
 */
export async function createTestDatabase(): Promise<TestDatabase> {

    if (pgUrl) {
        pgPrepared ??= preparePostgres(pgUrl);
        await pgPrepared;
        const engine = createDatabaseEngine(pgUrl, { min: 0, max: 1 });
        try {
            await emptyAllTables(engine);
        }
        finally {
            await engine.destroy();
        }

        return { url: pgUrl, type: 'postgres', cleanup: async () => {} };
    }

    const filename = tempSqlitePath();
    const engine = createDatabaseEngine(`sqlite:${filename}`);
    try {
        await engine.knex.migrate.latest(migrationConfig);
    }
    finally {
        await engine.destroy();
    }

    return {
        url: `sqlite:${filename}`,
        type: 'sqlite',
        cleanup: async () => removeSqliteFiles(filename)
    };
}

/** The application tables of a database (no knex bookkeeping, no FTS shadow tables). */
export async function applicationTables(knex: KnexType, type: DatabaseType): Promise<string[]> {

    if (type === 'postgres') {
        const { rows } = await knex.raw(`
            SELECT tablename FROM pg_tables
            WHERE schemaname = current_schema() AND tablename NOT LIKE 'knex\\_%'
            ORDER BY tablename`);
        return rows.map((row: { tablename: string }) => row.tablename);
    }

    const rows: Array<{ name: string; sql: string }> = await knex.raw(`
        SELECT name, sql FROM sqlite_master
        WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'knex\\_%' ESCAPE '\\'
        ORDER BY name`);
    const virtual = rows.filter((row) => /^CREATE VIRTUAL TABLE/i.test(row.sql)).map((row) => row.name);
    return rows
        .filter((row) => !virtual.some((name) => row.name.startsWith(`${name}_`)))
        .map((row) => row.name);
}

export async function emptyAllTables(engine: DatabaseEngine): Promise<void> {

    const tables = await applicationTables(engine.knex, engine.type);
    if (engine.type === 'postgres') {
        if (tables.length) {
            await engine.knex.raw(`TRUNCATE ${tables.map(() => '??').join(', ')} RESTART IDENTITY CASCADE`, tables);
        }

        return;
    }

    await engine.knex.raw('PRAGMA foreign_keys = OFF');
    for (const table of tables) {
        await engine.knex(table).delete();
    }

    await engine.knex.raw('PRAGMA foreign_keys = ON');
}
