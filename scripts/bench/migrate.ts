// npm run bench:migrate [-- --rounds N --resources N --regenerate --skip pgloader,pgschema,copy,bare,back,backplain,physical]
// Generates (once, then reuses) a SQLite library of --resources resources
// (default 100k: ~600k rows) with ~3 annotations and ~2 citations each, then
// times, alternating in each round:
//   tool      this migrator SQLite → PostgreSQL with content validation (CLI, child process)
//   pgloader  pgloader on the same file, into its own schema (it creates the tables)
//   pgschema  pgloader on the same file into the migrated schema (data only), then
//             the same search data: the tool's end state
//   copy      CSV export (sqlite3) + COPY into the migrated, indexed JSONB schema
//   bare      CSV export + COPY into bare tables, then keys, indexes and search data
//   back      this migrator PostgreSQL → SQLite with validation
//   backplain this migrator PostgreSQL → SQLite as the CLI runs by default (no --validate)
//   physical  the PostgreSQL → SQLite physical baseline: psql \copy of each table to
//             CSV, then a load into the migrated SQLite schema through Node's sqlite3
//             module (Debian's sqlite3 CLI is too old for the schema's FTS5 tables):
//             prepared multi-row INSERTs in big transactions, the search triggers on
//             as the schema has them, to the index and FTS state the tool leaves
// Prints medians of rows/s, the ratios the issue sets targets for, and peak RSS.

import { execFileSync, spawnSync } from 'node:child_process';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import Knex from 'knex';

import { sqliteMigrator } from '../../plugins/migrator/dialects/sqlite';
import { createDatabaseEngine } from '../../server/db/engine';
import { migrationConfig } from '../../server/db/migrations';
import { derivedSearchStorage } from '../../server/search/storage';
import { positiveInteger } from './options';

const ROOT = Path.resolve(__dirname, '..', '..');
const DIR = Path.join(ROOT, 'data', 'bench');
const PG = 'postgres://postgres@127.0.0.1:5432';
const APP_TABLES = ['users', 'classification_codes', 'resources', 'annotations', 'citations'];

const { values: args } = parseArgs({
    options: {
        rounds: { type: 'string', default: '3' },
        resources: { type: 'string', default: '100000' },
        regenerate: { type: 'boolean', default: false },
        skip: { type: 'string', default: '' }
    }
});

const rounds = positiveInteger('rounds', args.rounds, 100);
const resourceCount = positiveInteger('resources', args.resources, 10_000_000);
const CONTENDERS = ['tool', 'pgloader', 'pgschema', 'copy', 'bare', 'back', 'backplain', 'physical'];
const skip = new Set(args.skip.split(',').filter(Boolean));
const unknown = [...skip].filter((name) => !CONTENDERS.includes(name));
if (unknown.length) {
    console.error(`--skip takes a comma-separated list of ${CONTENDERS.join(', ')} (unknown: ${unknown.join(', ')})`);
    process.exit(2);
}

const library = Path.join(DIR, `library-${resourceCount}.db`);
let expectedRows = 0;

// A small deterministic generator so every run benchmarks the same library.
let seed = 42;
function random(): number {

    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
}

const WORDS = 'library archive knowledge graph search vector index citation annotation taxonomy metadata resource quality reading semantic embedding corpus journal article paper dataset'.split(' ');
function words(count: number): string {

    let out = '';
    for (let i = 0; i < count; ++i) {
        out += (i ? ' ' : '') + WORDS[Math.floor(random() * WORDS.length)];
    }

    return out;
}

function uuid(): string {

    return randomUUID();
}

async function generate(): Promise<void> {

    Fs.mkdirSync(DIR, { recursive: true });
    for (const suffix of ['', '-wal', '-shm']) {
        Fs.rmSync(library + suffix, { force: true });
    }

    const engine = createDatabaseEngine(`sqlite:${library}`);
    await engine.knex.migrate.latest(migrationConfig);
    await engine.destroy();

    const knex = Knex({ client: 'sqlite3', connection: { filename: library }, useNullAsDefault: true, pool: { min: 1, max: 1 } });
    await knex.raw('PRAGMA journal_mode = WAL');
    await knex.raw('PRAGMA synchronous = OFF');
    const connection: any = await knex.client.acquireConnection();
    const exec = (sql: string, values: unknown[] = []) => new Promise<void>((resolve, reject) => connection.run(sql, values, (error: Error | null) => (error ? reject(error) : resolve())));
    const insert = async (table: string, rows: Array<Record<string, unknown>>) => {

        const columns = Object.keys(rows[0]!);
        const tuple = `(${columns.map(() => '?').join(',')})`;
        await exec(`INSERT INTO ${table} (${columns.join(',')}) VALUES ${rows.map(() => tuple).join(',')}`, rows.flatMap((row) => columns.map((column) => row[column])));
    };

    const now = Date.UTC(2025, 0, 1);
    const iso = (offset: number) => new Date(now + offset * 1000).toISOString();
    const users = Array.from({ length: 10 }, (_, i) => ({ id: uuid(), email: `user${i}@example.org`, display_name: `User ${i}`, role: 'reader', created_at: iso(i), updated_at: iso(i) }));
    await insert('users', users);
    const codes = Array.from({ length: 50 }, (_, i) => ({ code: `C${String(i).padStart(3, '0')}`, label: `Class ${i}`, parent_code: null, created_at: iso(i), updated_at: iso(i) }));
    await insert('classification_codes', codes);

    const statuses = ['unread', 'in_progress', 'read', 'archived'];
    const types = ['reference', 'dataset', 'code', 'general'];
    let ids: string[] = [];
    const chunk = 200;
    await exec('BEGIN');
    for (let start = 0; start < resourceCount; start += chunk) {
        const resources: Array<Record<string, unknown>> = [];
        const annotations: Array<Record<string, unknown>> = [];
        const citations: Array<Record<string, unknown>> = [];
        for (let i = start; i < Math.min(resourceCount, start + chunk); ++i) {
            const id = uuid();
            ids.push(id);
            resources.push({
                id,
                title: `${words(6)} ${i}`,
                description: words(120),
                creator: `Author ${i % 997}`,
                publisher: `Publisher ${i % 53}`,
                type: 'article',
                format: 'text/html',
                language: 'en',
                identifier: `doi:10.1000/${i}`,
                source: `https://example.org/resources/${i}`,
                subject: JSON.stringify([WORDS[i % WORDS.length], WORDS[(i * 7) % WORDS.length]]),
                relation: '[]',
                classification_code: codes[i % codes.length]!.code,
                quality_score: Math.round(random() * 1e6) / 1e6,
                read_status: statuses[i % 4],
                embedding: JSON.stringify(Array.from({ length: 64 }, () => random() * 2 - 1)),
                sparse_embedding: JSON.stringify({ [WORDS[i % WORDS.length]!]: random() }),
                owner_id: users[i % users.length]!.id,
                ingestion_status: 'completed',
                created_at: iso(i),
                updated_at: iso(i + 60)
            });
            for (let a = 0; a < 3; ++a) {
                annotations.push({
                    id: uuid(), resource_id: id, user_id: users[(i + a) % users.length]!.id, start_offset: a * 100, end_offset: a * 100 + 40,
                    highlighted_text: words(8), note: a === 2 ? null : words(15), tags: JSON.stringify([WORDS[a]]), color: '#ffff00',
                    is_shared: a % 2, created_at: iso(i + a), updated_at: iso(i + a)
                });
            }

            for (let c = 0; c < 2; ++c) {
                const target = ids.length > 1 ? ids[Math.floor(random() * (ids.length - 1))]! : null;
                citations.push({
                    id: uuid(), source_resource_id: id, target_resource_id: target, target_url: `https://example.org/cited/${i}/${c}`,
                    citation_type: types[c % 4], context_snippet: words(20), importance_score: random(), created_at: iso(i), updated_at: iso(i)
                });
            }
        }

        await insert('resources', resources);
        for (let a = 0; a < annotations.length; a += 500) {
            await insert('annotations', annotations.slice(a, a + 500));
        }

        await insert('citations', citations);
        if (ids.length > 20_000) {
            ids = ids.slice(-20_000);
        }

        if (start % 20_000 === 0) {
            process.stdout.write(`  generated ${start} resources\n`);
        }
    }

    await exec('COMMIT');
    knex.client.releaseConnection(connection);
    await knex.raw('PRAGMA wal_checkpoint(TRUNCATE)');
    await knex.destroy();
}

async function appRows(): Promise<number> {

    const knex = Knex({ client: 'sqlite3', connection: { filename: library }, useNullAsDefault: true });
    try {
        let total = 0;
        for (const table of APP_TABLES) {
            const [{ count }] = await knex(table).count({ count: '*' });
            total += Number(count);
        }

        return total;
    }
    finally {
        await knex.destroy();
    }
}

async function freshPg(name: string, migrated: boolean): Promise<string> {

    const admin = Knex({ client: 'pg', connection: `${PG}/postgres`, pool: { min: 0, max: 1 } });
    try {
        await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
        await admin.raw('CREATE DATABASE ??', [name]);
    }
    finally {
        await admin.destroy();
    }

    const url = `${PG}/${name}`;
    if (migrated) {
        const engine = createDatabaseEngine(url, { min: 0, max: 1 });
        await engine.knex.migrate.latest(migrationConfig);
        await engine.destroy();
    }

    return url;
}

async function dropPg(name: string): Promise<void> {

    const admin = Knex({ client: 'pg', connection: `${PG}/postgres`, pool: { min: 0, max: 1 } });
    await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
    await admin.destroy();
}

interface Timing { seconds: number; rssMb?: number }

function runTool(source: string, target: string, validate = true): Timing {

    const reportFile = Path.join(DIR, `report-${process.pid}.json`);
    const started = process.hrtime.bigint();
    // /usr/bin/time reports the tool's own CPU time: near the wall time, the
    // tool is the bottleneck; far below it, the database is.
    const result = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', process.execPath, '--import', 'tsx', 'scripts/migrate-data.ts', '--source', source, '--target', target, ...(validate ? ['--validate'] : []), '--report', reportFile], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) {
        throw new Error(`migrate-data failed (${result.status}): ${result.stdout.slice(-2000)} ${result.stderr.slice(-2000)}`);
    }

    const report = JSON.parse(Fs.readFileSync(reportFile, 'utf8'));
    Fs.rmSync(reportFile);
    if (!report.ok || report.totalRows !== expectedRows) {
        throw new Error(`migrate-data copied ${report.totalRows} of ${expectedRows} rows`);
    }

    const phases = Object.entries(report.phases as Record<string, number>).map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`).join(', ');
    const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(result.stderr);
    console.log(`         tool phases: ${phases}; tool CPU ${cpu ? (Number(cpu[1]) + Number(cpu[2])).toFixed(1) : '?'} s`);
    return { seconds, rssMb: report.peakRssMb };
}

function exportCsv(dir: string): Record<string, string[]> {

    Fs.rmSync(dir, { recursive: true, force: true });
    Fs.mkdirSync(dir, { recursive: true });
    const columns: Record<string, string[]> = {};
    for (const table of APP_TABLES) {
        columns[table] = execFileSync('sqlite3', [library, `SELECT name FROM pragma_table_info('${table}')`], { encoding: 'utf8' }).trim().split('\n');
        execFileSync('sqlite3', ['-csv', library, `.output ${Path.join(dir, `${table}.csv`)}`, `SELECT * FROM ${table}`]);
    }

    return columns;
}

function psql(url: string, sql: string): string {

    return execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-tA', '-c', sql], { encoding: 'utf8', maxBuffer: 1 << 26 });
}

function copyCsv(url: string, dir: string, columns: Record<string, string[]>): void {

    for (const table of APP_TABLES) {
        psql(url, `\\copy ${table} (${columns[table]!.join(', ')}) FROM '${Path.join(dir, `${table}.csv`)}' WITH (FORMAT csv)`);
    }
}

async function runCopy(): Promise<Timing> {

    const url = await freshPg('na_migrator_bench_copy', true);
    const started = process.hrtime.bigint();
    const columns = exportCsv(Path.join(DIR, 'csv'));
    copyCsv(url, Path.join(DIR, 'csv'), columns);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const loaded = await loadedRows(url);
    await dropPg('na_migrator_bench_copy');
    if (loaded !== expectedRows) {
        throw new Error(`COPY loaded ${loaded} of ${expectedRows} rows`);
    }

    return { seconds };
}

// The search vectors computed by the row trigger as rows arrive; the side
// table's statement triggers off, their data (and the champion lists)
// rebuilt once at the end.
const SEARCH_TRIGGERS_FOR_LOAD = ['ALTER TABLE resources DISABLE TRIGGER USER', ...derivedSearchStorage.postgres.rowTriggers.map((name) => `ALTER TABLE resources ENABLE TRIGGER ${name}`)].join('; ');
const SEARCH_DATA_AFTER_LOAD = ['ALTER TABLE resources ENABLE TRIGGER USER; SELECT search_storage_rebuild()', 'SELECT search_champions_refresh()'];

async function runBare(): Promise<Timing> {

    // The schema without keys, indexes or triggers: what the definitions are,
    // saved before they are dropped, is put back after the COPY.
    const url = await freshPg('na_migrator_bench_bare', true);
    const constraints = psql(url, `SELECT format('ALTER TABLE %I ADD CONSTRAINT %I %s', cl.relname, c.conname, pg_get_constraintdef(c.oid)) || chr(30) || format('ALTER TABLE %I DROP CONSTRAINT %I', cl.relname, c.conname) || chr(30) || c.contype::text
        FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE n.nspname = 'public' AND c.contype IN ('p', 'f', 'u') AND cl.relname NOT LIKE 'knex%'`).trim().split('\n').map((line) => line.split('\x1e'));
    const indexes = psql(url, `SELECT pg_get_indexdef(i.indexrelid) || chr(30) || format('DROP INDEX %I', ic.relname)
        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class cl ON cl.oid = i.indrelid
        WHERE cl.relnamespace = 'public'::regnamespace AND cl.relname NOT LIKE 'knex%'
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`).trim().split('\n').map((line) => line.split('\x1e'));
    for (const [, drop] of indexes) {
        psql(url, drop!);
    }

    for (const [, drop, type] of [...constraints].sort((a, b) => (a[2] === 'f' ? -1 : 0) - (b[2] === 'f' ? -1 : 0))) {
        psql(url, `${drop} CASCADE`);
        void type;
    }

    // Search vectors computed as rows arrive (as the tool does).
    psql(url, SEARCH_TRIGGERS_FOR_LOAD);

    const started = process.hrtime.bigint();
    const phases: string[] = [];
    let mark = started;
    const phase = (name: string) => {

        const now = process.hrtime.bigint();
        phases.push(`${name} ${(Number(now - mark) / 1e9).toFixed(1)} s`);
        mark = now;
    };

    const columns = exportCsv(Path.join(DIR, 'csv'));
    phase('export');
    copyCsv(url, Path.join(DIR, 'csv'), columns);
    phase('COPY (search vectors by trigger)');
    for (const [add, , type] of [...constraints].sort((a, b) => (a[2] === 'f' ? 1 : 0) - (b[2] === 'f' ? 1 : 0))) {
        psql(url, add!);
        void type;
    }

    phase('keys');
    psql(url, SEARCH_DATA_AFTER_LOAD[0]!);
    phase('search side table and statistics');
    psql(url, SEARCH_DATA_AFTER_LOAD[1]!);
    phase('champion lists');
    for (const [create] of indexes) {
        psql(url, create!);
    }

    phase('indexes');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // The issue's anchor for this method may not include the derived search
    // data R3 needs: the phases show what it costs here.
    console.log(`         bare phases: ${phases.join(', ')}`);
    const loaded = await loadedRows(url);
    await dropPg('na_migrator_bench_bare');
    if (loaded !== expectedRows) {
        throw new Error(`bare COPY loaded ${loaded} of ${expectedRows} rows`);
    }

    return { seconds };
}

async function loadedRows(url: string): Promise<number> {

    return Number(psql(url, `SELECT ${APP_TABLES.map((table) => `(SELECT count(*) FROM ${table})`).join(' + ')}`).trim());
}

/**
 * pgloader on the library. Into its own schema: it creates text-typed tables
 * and their indexes (the schema's SQLite datetime defaults, strftime(…), are
 * not PostgreSQL expressions, so they are dropped). Into the migrated schema
 * (data only): to the tool's end state, in pgloader's fastest setting found
 * here — indexes and keys dropped and recreated by pgloader, search vectors
 * by the row trigger, the other search data rebuilt after it.
 */
async function runPgloader(schema: 'own' | 'migrated'): Promise<Timing> {

    const name = schema === 'own' ? 'na_migrator_bench_pgloader' : 'na_migrator_bench_pgschema';
    const url = await freshPg(name, schema === 'migrated');
    const command = Path.join(DIR, 'pgloader.load');
    Fs.writeFileSync(command, `LOAD DATABASE
  FROM sqlite://${library}
  INTO ${url}
${schema === 'own' ?
        'WITH include drop, create tables, create indexes, reset sequences, prefetch rows = 10000\nCAST type datetime to timestamptz drop default' :
        'WITH data only, drop indexes, reset sequences, prefetch rows = 10000'}
INCLUDING ONLY TABLE NAMES LIKE ${APP_TABLES.map((table) => `'${table}'`).join(', ')};
`);
    if (schema === 'migrated') {
        psql(url, SEARCH_TRIGGERS_FOR_LOAD);
    }

    const started = process.hrtime.bigint();
    const result = spawnSync('pgloader', [command], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (schema === 'migrated' && result.status === 0) {
        const loaded = process.hrtime.bigint();
        for (const sql of SEARCH_DATA_AFTER_LOAD) {
            psql(url, sql);
        }

        console.log(`         pgloader into the migrated schema: load ${(Number(loaded - started) / 1e9).toFixed(1)} s, search data ${(Number(process.hrtime.bigint() - loaded) / 1e9).toFixed(1)} s`);
    }

    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const loaded = await loadedRows(url).catch(() => -1);
    await dropPg(name);
    if (result.status !== 0 || loaded !== expectedRows) {
        throw new Error(`pgloader loaded ${loaded} of ${expectedRows} rows (exit ${result.status}): ${(result.stdout + result.stderr).slice(-3000)}`);
    }

    return { seconds };
}

/**
 * Splits CSV that PostgreSQL wrote WITH (FORMAT csv, FORCE_QUOTE *): every
 * value quoted ("" inside for a quote, newlines kept), NULL an empty field.
 */
function* csvRows(text: string, columns: number): Generator<Array<string | null>> {

    let at = 0;
    while (at < text.length) {
        const row: Array<string | null> = [];
        for (let column = 0; column < columns; ++column) {
            if (text[at] === '"') {
                let value = '';
                let from = at + 1;
                for (;;) {
                    const quote = text.indexOf('"', from);
                    if (text[quote + 1] === '"') {
                        value += text.slice(from, quote + 1);
                        from = quote + 2;
                        continue;
                    }

                    value += text.slice(from, quote);
                    at = quote + 1;
                    break;
                }

                row.push(value);
            }
            else {
                row.push(null);
            }

            // The separator: a comma, or the end of the line.
            at += 1;
        }

        yield row;
    }
}

/** The PostgreSQL → SQLite physical baseline, from the database the tool run wrote; returns the phases too. */
async function runPhysicalBack(sourceUrl: string, file: string): Promise<Timing> {

    const dir = Path.join(DIR, 'csv-back');
    Fs.rmSync(dir, { recursive: true, force: true });
    Fs.mkdirSync(dir, { recursive: true });
    for (const suffix of ['', '-wal', '-shm']) {
        Fs.rmSync(file + suffix, { force: true });
    }

    const started = process.hrtime.bigint();
    let mark = started;
    const phases: string[] = [];
    const phase = (name: string) => {

        const now = process.hrtime.bigint();
        phases.push(`${name} ${(Number(now - mark) / 1e9).toFixed(1)} s`);
        mark = now;
    };

    // 1. The schema, as the tool's run creates it (every migration).
    const engine = createDatabaseEngine(`sqlite:${file}`);
    await engine.knex.migrate.latest(migrationConfig);
    const targetColumns: Record<string, Set<string>> = {};
    for (const table of APP_TABLES) {
        targetColumns[table] = new Set((await engine.knex.raw(`PRAGMA table_info(${table})`)).map((column: { name: string }) => column.name));
    }

    await engine.destroy();
    phase('schema');

    // 2. Each table to CSV, in the SQLite form of its values (ISO-8601 UTC
    // instants, booleans as 0/1), in key order.
    const columns: Record<string, Array<{ name: string; type: string }>> = {};
    for (const table of APP_TABLES) {
        columns[table] = psql(sourceUrl, `SELECT column_name || chr(30) || data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '${table}' ORDER BY ordinal_position`)
            .trim().split('\n').map((line) => {

                const [name, type] = line.split('\x1e');
                return { name: name!, type: type! };
            })
            // Columns of PostgreSQL's own (search_vector) stay behind, as in the tool's run.
            .filter((column) => targetColumns[table]!.has(column.name));
        const select = columns[table]!.map(({ name, type }) => (type.startsWith('timestamp') ? `to_char(${name} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')` : type === 'boolean' ? `${name}::integer` : name)).join(', ');
        psql(sourceUrl, `\\copy (SELECT ${select} FROM ${table} ORDER BY 1) TO '${Path.join(dir, `${table}.csv`)}' WITH (FORMAT csv, FORCE_QUOTE *)`);
    }

    phase('psql \\copy to CSV');

    // 3. The load: what the tool sets aside (secondary indexes, other
    // triggers) set aside here too; the search triggers stay on.
    const knex = Knex({ client: 'sqlite3', connection: { filename: file }, useNullAsDefault: true, pool: { min: 1, max: 1 } });
    const deferred = await sqliteMigrator.deferrableObjects(knex, APP_TABLES);
    for (const object of deferred) {
        await knex.raw(object.drop);
    }

    const connection: any = await knex.client.acquireConnection();
    const exec = (sql: string) => new Promise<void>((resolve, reject) => connection.exec(sql, (error: Error | null) => (error ? reject(error) : resolve())));
    const prepare = (sql: string) => new Promise<any>((resolve, reject) => {

        const statement = connection.prepare(sql, (error: Error | null) => (error ? reject(error) : resolve(statement)));
    });
    const run = (statement: any, values: unknown[]) => new Promise<void>((resolve, reject) => statement.run(values, (error: Error | null) => (error ? reject(error) : resolve())));
    await exec('PRAGMA synchronous = NORMAL');
    const ROWS_PER_TRANSACTION = 50_000;
    for (const table of APP_TABLES) {
        const names = columns[table]!.map((column) => column.name);
        const perStatement = Math.floor(32_000 / names.length);
        const tuple = `(${names.map(() => '?').join(',')})`;
        const head = `INSERT INTO ${table} (${names.join(',')}) VALUES `;
        const full = await prepare(head + Array.from({ length: perStatement }, () => tuple).join(','));
        let values: unknown[] = [];
        let pending = 0;
        let inTransaction = 0;
        const flush = async () => {

            if (pending === perStatement) {
                await run(full, values);
            }
            else if (pending) {
                const last = await prepare(head + Array.from({ length: pending }, () => tuple).join(','));
                await run(last, values);
                await new Promise((resolve) => last.finalize(resolve));
            }

            values = [];
            pending = 0;
        };

        await exec('BEGIN');
        for (const row of csvRows(Fs.readFileSync(Path.join(dir, `${table}.csv`), 'utf8'), names.length)) {
            values.push(...row);
            ++pending;
            ++inTransaction;
            if (pending === perStatement) {
                await flush();
            }

            if (inTransaction >= ROWS_PER_TRANSACTION) {
                await flush();
                await exec('COMMIT; BEGIN');
                inTransaction = 0;
            }
        }

        await flush();
        await exec('COMMIT');
        await new Promise((resolve) => full.finalize(resolve));
    }

    knex.client.releaseConnection(connection);
    phase('load (search triggers on)');

    // 4. The indexes and triggers back, and planner statistics: the state the tool leaves.
    for (const object of deferred) {
        await knex.raw(object.restore);
    }

    await knex.raw('ANALYZE');
    phase('indexes and ANALYZE');
    const [{ count }] = await knex.raw(`SELECT ${APP_TABLES.map((table) => `(SELECT count(*) FROM ${table})`).join(' + ')} AS count`);
    await knex.destroy();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(`         physical phases: ${phases.join(', ')}`);
    if (Number(count) !== expectedRows) {
        throw new Error(`the physical baseline loaded ${count} of ${expectedRows} rows`);
    }

    return { seconds };
}

function median(values: number[]): number {

    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {

    if (args.regenerate || !Fs.existsSync(library)) {
        console.log(`Generating ${library} (${resourceCount} resources)…`);
        const started = Date.now();
        await generate();
        console.log(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }

    const rows = await appRows();
    expectedRows = rows;
    console.log(`Library: ${rows} rows in ${APP_TABLES.join(', ')}; ${(Fs.statSync(library).size / 1e6).toFixed(0)} MB`);
    // Figures move with the machine (clock, SHA instructions): say which one.
    const cpus = Os.cpus();
    // A virtual machine may report 0 MHz here and the clock in /proc/cpuinfo.
    const cpuinfo = Fs.existsSync('/proc/cpuinfo') ? Fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
    const mhz = cpus[0]?.speed || Math.round(Number(/cpu MHz\s*:\s*([\d.]+)/.exec(cpuinfo)?.[1] ?? NaN)) || '?';
    const pgloaderVersion = spawnSync('pgloader', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0] ?? '';
    console.log(`Machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'} at ${mhz} MHz, Node ${process.version}${pgloaderVersion ? `, ${pgloaderVersion}` : ''}`);
    const hasPgloader = pgloaderVersion !== '';
    if (!hasPgloader) {
        console.log('pgloader is not installed (apt-get install -y pgloader): its two columns are skipped');
        skip.add('pgloader');
        skip.add('pgschema');
    }

    const results: Record<string, Timing[]> = Object.fromEntries(CONTENDERS.map((name) => [name, []]));
    const back = Path.join(DIR, 'back.db');
    for (let round = 1; round <= rounds; ++round) {
        const steps: Array<[string, () => Promise<Timing>]> = [
            ['tool', async () => {

                const target = await freshPg('na_migrator_bench_tool', true);
                return runTool(`sqlite:${library}`, target);
            }],
            ['pgloader', () => runPgloader('own')],
            ['pgschema', () => runPgloader('migrated')],
            ['copy', runCopy],
            ['bare', runBare],
            ['back', async () => {

                for (const suffix of ['', '-wal', '-shm']) {
                    Fs.rmSync(back + suffix, { force: true });
                }

                return runTool(`${PG}/na_migrator_bench_tool`, `sqlite:${back}`);
            }],
            ['backplain', async () => {

                for (const suffix of ['', '-wal', '-shm']) {
                    Fs.rmSync(back + suffix, { force: true });
                }

                return runTool(`${PG}/na_migrator_bench_tool`, `sqlite:${back}`, false);
            }],
            ['physical', () => runPhysicalBack(`${PG}/na_migrator_bench_tool`, back)]
        ];
        // Alternate the order each round so no method always runs on a warm cache.
        // The PostgreSQL → SQLite runs read what the tool wrote, so they come last.
        const ordered = round % 2 ? steps : [...steps.slice(0, 5).reverse(), ...steps.slice(5).reverse()];
        for (const [name, step] of ordered) {
            if (skip.has(name)) {
                continue;
            }

            const timing = await step();
            results[name]!.push(timing);
            console.log(`round ${round} ${name.padEnd(8)} ${timing.seconds.toFixed(1).padStart(6)} s  ${Math.round(rows / timing.seconds).toString().padStart(7)} rows/s${timing.rssMb ? `  peak RSS ${timing.rssMb} MB` : ''}`);
        }
    }

    await dropPg('na_migrator_bench_tool');
    for (const suffix of ['', '-wal', '-shm']) {
        Fs.rmSync(back + suffix, { force: true });
    }

    const rate = (name: string) => (results[name]!.length ? rows / median(results[name]!.map((timing) => timing.seconds)) : NaN);
    const labels: Record<string, string> = {
        tool: 'this tool SQLite→PG, with validation',
        pgloader: 'pgloader (its own schema)',
        pgschema: 'pgloader (migrated schema, same end state)',
        copy: 'CSV export + COPY, indexed JSONB schema',
        bare: 'CSV export + COPY bare, then keys/indexes',
        back: 'this tool PG→SQLite, with validation',
        backplain: 'this tool PG→SQLite, default (no --validate)',
        physical: 'psql \\copy CSV + load into SQLite (baseline)'
    };
    console.log(`\nMedians of ${rounds} round(s), ${rows} rows:`);
    for (const name of Object.keys(labels)) {
        if (results[name]!.length) {
            console.log(`  ${labels[name]!.padEnd(44)} ${median(results[name]!.map((timing) => timing.seconds)).toFixed(1).padStart(6)} s  ${Math.round(rate(name)).toString().padStart(7)} rows/s`);
        }
    }

    const ratio = (a: string, b: string) => (Number.isNaN(rate(a)) || Number.isNaN(rate(b)) ? 'skipped' : (rate(a) / rate(b)).toFixed(2));
    console.log(`  SQLite→PG: tool with validation / pgloader  ${ratio('tool', 'pgschema')} into the migrated schema, same end state (target ≥ 1.2); ${ratio('tool', 'pgloader')} into its own schema (reference)`);
    console.log(`  SQLite→PG: tool / COPY                      ${ratio('tool', 'bare')} bare then keys/indexes, ${ratio('tool', 'copy')} indexed (reference)`);
    console.log(`  PG→SQLite: tool / physical baseline         ${ratio('backplain', 'physical')} without --validate, ${ratio('back', 'physical')} with it (target ≥ 0.7)`);
    console.log(`  PG→SQLite: time with --validate / without   ${ratio('backplain', 'back')} (target ≤ 1.4)`);
    const rss = [...results.tool!, ...results.back!, ...results.backplain!].map((timing) => timing.rssMb ?? 0);
    console.log(`  peak RSS of the tool  ${rss.length ? `${Math.max(...rss)} MB` : 'skipped'} (target ≤ 300)`);
}

main().catch((error) => {

    console.error(error);
    process.exitCode = 1;
});
