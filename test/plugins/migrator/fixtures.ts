// Databases and data for the migrator tests: scratch PostgreSQL databases
// (na_migrator_*), migrated SQLite files and a library full of awkward values.

import { randomUUID } from 'node:crypto';
import Knex, { type Knex as KnexType } from 'knex';

import { createDatabaseEngine } from '../../../server/db/engine';
import { migrationConfig } from '../../../server/db/migrations';
import type { DatabaseEngine } from '../../../server/db/types';
import { normalizedRow } from '../../../plugins/migrator/checksum';
import { postgresMigrator } from '../../../plugins/migrator/dialects/postgres';
import { sqliteMigrator } from '../../../plugins/migrator/dialects/sqlite';
import { removeSqliteFiles, tempSqlitePath } from '../../helpers/database';
import { postgresServerUrl } from '../../helpers/requirements';

// The server of the PostgreSQL suite, or the one the SQLite suite uses for
// its cross-dialect tests: round trips need both dialects whatever the
// suite's own dialect is.
function serverUrl(): URL {

    return new URL(postgresServerUrl);
}

function adminKnex(): KnexType {

    const url = serverUrl();
    url.pathname = '/postgres';
    return Knex({ client: 'pg', connection: url.toString(), pool: { min: 0, max: 1 } });
}

export interface Scratch {
    url: string;
    drop(): Promise<void>;
}

/** A new, empty PostgreSQL database; fails with a clear message when PostgreSQL is unreachable. */
export async function scratchPostgres(label: string): Promise<Scratch> {

    const name = `na_migrator_${label}_${process.pid}_${randomUUID().slice(0, 8)}`;
    const admin = adminKnex();
    try {
        await admin.raw('CREATE DATABASE ??', [name]);
    }
    catch (error) {
        throw new Error(`The migrator tests need PostgreSQL at ${serverUrl().host} (set TEST_POSTGRES_URL): ${(error as Error).message}`);
    }
    finally {
        await admin.destroy();
    }

    const url = serverUrl();
    url.pathname = `/${name}`;
    return {
        url: url.toString(),
        async drop() {

            const knex = adminKnex();
            try {
                await knex.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
            }
            finally {
                await knex.destroy();
            }
        }
    };
}

export interface ScratchSqlite {
    url: string;
    filename: string;
    drop(): Promise<void>;
}

export function scratchSqlite(label: string): ScratchSqlite {

    const filename = tempSqlitePath(`migrator-${label}`);
    return { url: `sqlite:${filename}`, filename, drop: async () => removeSqliteFiles(filename) };
}

export async function migrated<T extends { url: string }>(database: T): Promise<T> {

    const engine = createDatabaseEngine(database.url, { min: 0, max: 1 });
    try {
        await engine.knex.migrate.latest(migrationConfig);
    }
    finally {
        await engine.destroy();
    }

    return database;
}

/** An engine for checks; PostgreSQL JSON comes back as text, as the migrator reads it, so no digit is lost in the check itself. */
export async function withEngine<T>(url: string, work: (engine: DatabaseEngine) => Promise<T>): Promise<T> {

    const engine = createDatabaseEngine(url, { min: 0, max: 2, jsonAsText: true });
    try {
        return await work(engine);
    }
    finally {
        await engine.destroy();
    }
}

// Text no driver, escaping rule or encoding step may change.
export const AWKWARD_TEXT = [
    'Ünïcödé 漢字 Ελληνικά עברית',
    'emoji 👩‍💻🚀🏳️‍🌈 and a lone 🧪',
    'controls \x01\x02\x07\x08\x0b\x0c\x1b\x1f\x7f end',
    'tab\there\nnewline\r\ncrlf\rcr',
    'back\\slash \\N \\. \\t \\\\ "double" \'single\' `tick`',
    '\\.',
    '\\N',
    '',
    ' leading and trailing spaces ',
    'x'.repeat(300_000) + 'ü'.repeat(100_000)
];

// 9007199254740993 (2^53 + 1) has no exact double: the value is 2^53, the edge of exact integers.
// eslint-disable-next-line no-loss-of-precision
export const AWKWARD_FLOATS = [1.7976931348623157e308, -1.7976931348623157e308, 5e-324, -5e-324, 2.2250738585072014e-308, -0, 0.1 + 0.2, -123456.789e-10, 9007199254740993];

// JSON a double cannot hold: integers beyond 2^53, long decimals, extreme
// exponents, every escape JSON has (JSONB refuses only \u0000), key order.
export const AWKWARD_JSON = [
    '{"big":9007199254740993,"huge":12345678901234567890,"neg":-98765432109876543210987654321,"id":"12345678901234567890"}',
    '[1e-300,1.5E+300,0.1000000000000000055511151231257827,-0,1.0,123456789.123456789123456789,1e400,-1e-400,100e-2]',
    '{"z":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u00e9\\ud83d\\ude80\\u2028","a":[{"b":{"c":[]}}],"é":{}}',
    '{"b":1,"a":2,"nested":{"y":[3,{"x":4e-7}],"w":null},"t":true,"f":false}'
];

// Instants at the edges of what both dialects store: the first and last
// millisecond of years 1 and 9999, the epoch and the millisecond before it.
export const AWKWARD_TIMESTAMPS = ['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '1970-01-01T00:00:00.000Z', '1969-12-31T23:59:59.999Z'];

const iso = (ms: number) => new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 0) + ms).toISOString();

/**
 * A library whose rows cover every awkward value, and whose self-referencing
 * tables hold children whose keys sort before their parents' keys.
 */
export async function insertAwkwardLibrary(knex: KnexType, resourceCount = 30): Promise<void> {

    const users = [
        { id: 'ffffffff-0000-4000-8000-000000000001', email: 'zoë@example.org', display_name: AWKWARD_TEXT[1], role: 'admin', created_at: iso(0), updated_at: iso(1) },
        { id: '00000000-0000-4000-8000-000000000002', email: 'plain@example.org', display_name: null, role: 'reader', created_at: iso(2), updated_at: iso(3) }
    ];
    await knex('users').insert(users);

    // The authority lists: unique names, JSON variants (empty, plain, nested) and counts up to 2^31 − 1.
    for (const [n, table] of ['authority_subjects', 'authority_creators', 'authority_publishers'].entries()) {
        await knex(table).insert(AWKWARD_TEXT.slice(0, 4).map((text, i) => ({
            id: `${String(n + 1).repeat(8)}-0000-4000-8000-00000000000${i}`,
            canonical_name: `${text.slice(0, 200)} (${table} ${i})`,
            variants: JSON.stringify([[], ['plain'], [text.slice(0, 30), { script: 'cyrl', 'é\n': [1.5e-300, null] }], ['', ' ']][i]),
            usage_count: [0, 1, 2147483647, 42][i],
            created_at: iso(i),
            updated_at: iso(i + n)
        })));
    }

    // Children first in key order: 'A…' codes have parent 'Z'.
    await knex('classification_codes').insert([
        { code: 'Z', label: 'root', parent_code: null, created_at: iso(0), updated_at: iso(0) },
        { code: 'M', label: 'middle', parent_code: 'Z', created_at: iso(0), updated_at: iso(0) },
        { code: 'A1', label: AWKWARD_TEXT[4], parent_code: 'M', created_at: iso(0), updated_at: iso(0) }
    ]);

    const root = 'f0000000-0000-4000-8000-000000000000';
    const child = 'a0000000-0000-4000-8000-000000000000';
    const grandchild = '10000000-0000-4000-8000-000000000000';
    await knex('taxonomy_nodes').insert([
        { id: root, name: 'Root', slug: 'root', parent_id: null, level: 0, path: '/root', created_at: iso(0), updated_at: iso(0) },
        { id: child, name: 'Child', slug: 'child', parent_id: root, level: 1, path: '/root/child', description: AWKWARD_TEXT[3], created_at: iso(0), updated_at: iso(0) },
        { id: grandchild, name: 'Grandchild', slug: 'grandchild', parent_id: child, level: 2, path: '/root/child/grandchild', created_at: iso(0), updated_at: iso(0) }
    ]);
    await knex('collections').insert([
        { id: root, name: 'Top', owner_id: users[0]!.id, visibility: 'public', parent_id: null, created_at: iso(0), updated_at: iso(0) },
        { id: grandchild, name: 'Nested', description: AWKWARD_TEXT[2], owner_id: null, visibility: 'private', parent_id: root, created_at: iso(0), updated_at: iso(0) }
    ]);

    const resources = [];
    for (let i = 0; i < resourceCount; ++i) {
        const text = AWKWARD_TEXT[i % AWKWARD_TEXT.length]!;
        resources.push({
            id: randomUUID(),
            title: i % 3 ? `${text.slice(0, 200)} #${i}` : `Resource ${i}`,
            description: i % 5 === 0 ? null : text,
            creator: AWKWARD_TEXT[i % 5]!.slice(0, 100),
            source: `https://example.org/${encodeURIComponent(text.slice(0, 20))}?q=${i}`,
            subject: JSON.stringify(i % 4 === 0 ? [] : [text.slice(0, 50), 'common', `s${i}`]),
            relation: JSON.stringify(i % 2 ? [] : [{ nested: { deep: [1, { k: null, 'é\n': [true, false] }] }, quote: '"\\' }]),
            classification_code: ['Z', 'M', 'A1', null][i % 4],
            quality_score: [0, 1, 0.30000000000000004, 0.5][i % 4],
            read_status: ['unread', 'in_progress', 'read', 'archived'][i % 4],
            embedding: i % 3 === 0 ? null : JSON.stringify(i % 3 === 1 ? [] : AWKWARD_FLOATS.filter((value) => !Object.is(value, -0))),
            sparse_embedding: i % 4 === 0 ? null : i % 4 === 1 ? '{}' : i % 4 === 2 ? AWKWARD_JSON[(i >> 2) % AWKWARD_JSON.length] : JSON.stringify({ b: 1e-7, a: -2.5e300, 'ключ': 0.1 }),
            owner_id: users[i % 2]!.id,
            ingestion_status: 'completed',
            ingestion_error: i % 7 === 0 ? AWKWARD_TEXT[4] : null,
            ingestion_started_at: i % 2 ? iso(i * 1000 + 123) : null,
            ingestion_completed_at: i % 5 === 1 ? AWKWARD_TIMESTAMPS[(i >> 1) % AWKWARD_TIMESTAMPS.length] : null,
            created_at: iso(i * 997),
            updated_at: iso(i * 997 + 1)
        });
    }

    for (const resource of resources) {
        await knex('resources').insert(resource);
    }

    const floats = AWKWARD_FLOATS;
    for (let i = 0; i < resources.length; ++i) {
        const resource = resources[i]!;
        await knex('annotations').insert({
            id: randomUUID(), resource_id: resource.id, user_id: i % 3 ? users[0]!.id : null, start_offset: i, end_offset: i + 10,
            highlighted_text: AWKWARD_TEXT[(i + 3) % AWKWARD_TEXT.length], note: i % 2 ? null : AWKWARD_TEXT[(i + 4) % AWKWARD_TEXT.length],
            tags: JSON.stringify(i % 2 ? [] : ['a', 'b\tc']), color: '#ffff00', is_shared: i % 2, created_at: iso(i), updated_at: iso(i)
        });
        await knex('citations').insert({
            id: randomUUID(), source_resource_id: resource.id, target_resource_id: i ? resources[i - 1]!.id : null,
            target_url: i % 2 ? null : 'https://example.org/a?b=c&d=e#f', citation_type: 'reference',
            context_snippet: AWKWARD_TEXT[(i + 1) % AWKWARD_TEXT.length], importance_score: floats[i % floats.length], created_at: iso(i), updated_at: iso(i)
        });
        if (i) {
            await knex('graph_edges').insert({
                id: randomUUID(), source_id: resource.id, target_id: resources[i - 1]!.id, edge_type: 'related',
                weight: floats[(i + 2) % floats.length], metadata: i % 3 === 1 ? AWKWARD_JSON[i % AWKWARD_JSON.length] : JSON.stringify(i % 2 ? {} : { why: AWKWARD_TEXT[i % 5]!.slice(0, 40), n: [1, [2, [3]]] }),
                created_at: iso(i), updated_at: iso(i)
            });
        }

        await knex('resource_taxonomy').insert({ resource_id: resource.id, taxonomy_node_id: [root, child, grandchild][i % 3], confidence: floats[(i + 4) % floats.length]! > 1 ? 0.25 : 0.75, is_predicted: i % 2, created_at: iso(i) });
        if (i % 2) {
            await knex('collection_resources').insert({ collection_id: [root, grandchild][i % 2 === 1 && i % 4 === 1 ? 0 : 1], resource_id: resource.id, added_at: iso(i) });
        }
    }
}

/** Every application table's rows as sorted normalized text, the form both dialects must agree on. */
export async function normalizedDump(engine: DatabaseEngine): Promise<Record<string, string[]>> {

    const catalog = await (engine.type === 'postgres' ? postgresMigrator : sqliteMigrator).readCatalog(engine.knex);
    const dump: Record<string, string[]> = {};
    for (const [name, table] of catalog) {
        const columns = [...table.columns].sort((a, b) => a.name.localeCompare(b.name));
        const rows = await engine.knex(name).select(columns.map((column) => column.name));
        dump[name] = rows.map((row: Record<string, unknown>) => normalizedRow(columns, row)).sort();
    }

    return dump;
}
