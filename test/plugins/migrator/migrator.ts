import { randomUUID } from 'node:crypto';
import Fs from 'node:fs';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { migrateData, MigrationUsageError, tableOrder, validateSchemas, type MigrationReport, type TableReport } from '../../../plugins/migrator/migrator';
import { postgresMigrator } from '../../../plugins/migrator/dialects/postgres';
import { sqliteMigrator } from '../../../plugins/migrator/dialects/sqlite';
import type { ProgressEvent } from '../../../plugins/migrator/types';
import { copyEscape, copyField } from '../../../plugins/migrator/values';
import { refreshChampionsIfStale } from '../../../plugins/fts-postgres/search';
import { rebuildSearchStorage } from '../../../server/search/storage';
import { AWKWARD_TEXT, insertAwkwardLibrary, migrated, normalizedDump, scratchPostgres, scratchSqlite, withEngine, type Scratch, type ScratchSqlite } from './fixtures';
import { needsPostgres } from '../../helpers/requirements';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

// Tests that move data to or from PostgreSQL, whatever the suite's dialect.
const postgres = needsPostgres();

describe('migrator', () => {

    const cleanup: Array<() => Promise<void>> = [];
    let source: ScratchSqlite;

    before({ timeout: 120_000 }, async () => {

        source = await migrated(scratchSqlite('source'));
        cleanup.push(source.drop);
        await withEngine(source.url, (engine) => insertAwkwardLibrary(engine.knex));
    });

    after({ timeout: 120_000 }, async () => {

        for (const drop of cleanup.reverse()) {
            await drop();
        }
    });

    const pg = async (label: string, schema = true): Promise<Scratch> => {

        const database = await scratchPostgres(label);
        cleanup.push(database.drop);
        return schema ? await migrated(database) : database;
    };

    /** The report of a run where only `name` failed, in `batch`: every other table copied and matched. */
    const expectOnlyFailure = (report: MigrationReport, name: string, batch: number, message: string): TableReport => {

        expect(report.ok).to.be.false();
        const failed = report.tables.find((table) => table.table === name)!;
        expect(failed.status).to.equal('failed');
        expect(failed.errors[0]!.batch).to.equal(batch);
        expect(failed.errors[0]!.message).to.contain(message);
        for (const table of report.tables.filter((entry) => entry.table !== name)) {
            expect(table.status, table.table).to.equal('ok');
            expect(table.checksumMatch, table.table).to.be.true();
        }

        return failed;
    };

    const sqlite = (label: string): ScratchSqlite => {

        const database = scratchSqlite(label);
        cleanup.push(database.drop);
        return database;
    };

    it('escapes COPY text fields so awkward values reach PostgreSQL unchanged', () => {

        expect(copyEscape('a\tb\nc\rd\\e')).to.equal('a\\tb\\nc\\rd\\\\e');
        expect(copyEscape('\\.')).to.equal('\\\\.');
        expect(copyField('text', 'c', '\\N')).to.equal('\\\\N');
        expect(copyField('text', 'c', null)).to.equal('\\N');
        expect(copyField('float', 'c', -0)).to.equal('-0');
        expect(copyField('boolean', 'c', 1)).to.equal('t');
        expect(copyField('json', 'c', { a: 'x\ty' })).to.equal('{"a":"x\\\\ty"}');
        expect(copyField('timestamp', 'c', '2024-02-29 23:59:59')).to.equal('2024-02-29T23:59:59.000Z');
    });

    it('orders tables by the foreign keys in the catalogs', async () => {

        const catalog = await withEngine(source.url, (engine) => sqliteMigrator.readCatalog(engine.knex));
        const order = tableOrder([...catalog.keys()], catalog);
        const before = (parent: string, child: string) => expect(order.indexOf(parent), `${parent} before ${child}`).to.be.below(order.indexOf(child));
        before('users', 'resources');
        before('classification_codes', 'resources');
        before('resources', 'annotations');
        before('resources', 'citations');
        before('collections', 'collection_resources');
        before('taxonomy_nodes', 'resource_taxonomy');
        expect(order).to.not.include(['knex_migrations', 'resources_fts', 'resource_search_docs']);
    });

    it('reports incompatible schemas before any row moves', postgres, async () => {

        const target = await pg('schema');
        await withEngine(target.url, async (engine) => {

            await engine.knex.raw('ALTER TABLE citations ALTER COLUMN target_url TYPE integer USING NULL');
            await engine.knex.raw('ALTER TABLE users DROP COLUMN display_name');
        });

        const sourceCatalog = await withEngine(source.url, (engine) => sqliteMigrator.readCatalog(engine.knex));
        const targetCatalog = await withEngine(target.url, (engine) => postgresMigrator.readCatalog(engine.knex));
        const { issues } = validateSchemas(sourceCatalog, targetCatalog, [...sourceCatalog.keys()]);
        expect(issues.map((issue) => `${issue.table}.${issue.column}`)).to.equal(['citations.target_url', 'users.display_name']);

        const report = await migrateData({ source: source.url, target: target.url });
        expect(report.ok).to.be.false();
        expect(report.fatal).to.contain('schemas do not match');
        const count = await withEngine(target.url, async (engine) => Number((await engine.knex('resources').count({ n: '*' }))[0]!.n));
        expect(count).to.equal(0);
    });

    it('round-trips SQLite → PostgreSQL → SQLite with every awkward value intact', { ...postgres, timeout: 180_000 }, async () => {

        const middle = await pg('roundtrip', false);
        const back = sqlite('back');

        const steps: string[] = [];
        const onProgress = (event: ProgressEvent) => {

            if (event.type === 'phase' || event.type === 'table-done') {
                steps.push(event.type === 'phase' ? event.phase : `done:${event.table}`);
            }
        };

        const there = await migrateData({ source: source.url, target: middle.url, validate: true, batchSize: 7, onProgress });
        expect(there.fatal).to.be.null();
        expect(there.ok).to.be.true();
        // The search data (recomputed from resources alone) is rebuilt as
        // soon as resources is copied, beside the copy of the other tables.
        expect(steps.indexOf('search')).to.be.above(steps.indexOf('done:resources'));
        expect(steps.indexOf('search')).to.be.below(steps.indexOf('finish'));
        expect(there.phases.search).to.be.a.number();

        expect(there.appliedMigrations.length).to.be.above(0);
        for (const table of there.tables) {
            expect(table.checksumMatch, table.table).to.be.true();
            expect(table.targetRows, table.table).to.equal(table.sourceRows);
        }

        const home = await migrateData({ source: middle.url, target: back.url, validate: true, batchSize: 5 });
        expect(home.fatal).to.be.null();
        expect(home.ok).to.be.true();
        expect(home.tables.map((table) => table.sourceChecksum)).to.equal(there.tables.map((table) => table.targetChecksum));

        // Every digit of a JSON number beyond a double's precision, in PostgreSQL and back in SQLite.
        const bigNumbers = await withEngine(middle.url, (engine) => engine.knex('resources').whereRaw("sparse_embedding->>'huge' = '12345678901234567890'").count({ n: '*' }));
        expect(Number(bigNumbers[0]!.n)).to.be.above(0);
        const returnedText = await withEngine(back.url, (engine) => engine.knex('resources').where('sparse_embedding', 'like', '%"huge":12345678901234567890%').pluck('sparse_embedding'));
        expect(returnedText.length).to.equal(Number(bigNumbers[0]!.n));
        expect(returnedText[0]).to.contain('"big":9007199254740993');

        const original = await withEngine(source.url, normalizedDump);
        const inPostgres = await withEngine(middle.url, normalizedDump);
        const returned = await withEngine(back.url, normalizedDump);
        expect(Object.keys(original).sort()).to.equal(Object.keys(returned).sort());
        expect(returned).to.equal(original);
        expect(inPostgres).to.equal(original);

        // Native types on PostgreSQL, and the derived search data rebuilt.
        await withEngine(middle.url, async (engine) => {

            const { rows } = await engine.knex.raw(`SELECT jsonb_typeof(subject) AS subject, pg_typeof(is_shared)::text AS shared,
                (SELECT count(*) FROM resources WHERE search_vector IS NULL) AS missing FROM annotations, resources LIMIT 1`);
            expect(rows[0]).to.equal({ subject: 'array', shared: 'boolean', missing: 0 });
            const long = await engine.knex('resources').where('description', AWKWARD_TEXT[9]).count({ n: '*' });
            expect(Number(long[0]!.n)).to.be.above(0);
            const hits = await engine.knex.raw("SELECT count(*) AS n FROM resources WHERE search_vector @@ to_tsquery('english', 'common')");
            expect(Number(hits.rows[0].n)).to.be.above(0);
            // The derived search data equals a full rebuild's (vectors recomputed, side table, statistics, champions).
            const derived = async () => (await engine.knex.raw(`SELECT
                (SELECT md5(string_agg(id::text || search_vector::text, ',' ORDER BY id)) FROM resources) AS vectors,
                (SELECT md5(string_agg(resource_id::text || doc_len || vec::text, ',' ORDER BY resource_id)) FROM resource_search) AS side,
                (SELECT md5(string_agg(lexeme || ndoc, ',' ORDER BY lexeme)) FROM search_lexeme_stats) AS lexemes,
                (SELECT ndocs || '/' || total_len FROM search_corpus_stats) AS corpus,
                (SELECT count(*) FROM search_champion_state) AS champions`)).rows[0];
            const migrated = await derived();
            expect(Number(migrated.champions)).to.equal(1);
            await rebuildSearchStorage(engine.knex, 'postgres');
            expect(await derived()).to.equal(migrated);
            const tables = await engine.knex.raw("SELECT count(*) AS n FROM pg_tables WHERE tablename LIKE 'migrator\\_%'");
            expect(Number(tables.rows[0].n)).to.equal(0);
        });

        await withEngine(back.url, async (engine) => {

            const [{ n }] = await engine.knex.raw("SELECT count(*) AS n FROM resources_fts WHERE resources_fts MATCH 'common'");
            expect(Number(n)).to.be.above(0);
            const [{ triggers }] = await engine.knex.raw("SELECT count(*) AS triggers FROM sqlite_master WHERE type = 'trigger'");
            expect(triggers).to.equal(3);
            // The search data the triggers wrote as rows landed equals a full rebuild's.
            const derived = async () => ({
                docs: await engine.knex.raw('SELECT d.docid, d.resource_id, f.title, f.description, f.subjects FROM resource_search_docs d JOIN resources_fts f ON f.rowid = d.docid ORDER BY d.docid'),
                ranked: await engine.knex.raw("SELECT rowid, bm25(resources_fts, 10, 5, 2) AS score FROM resources_fts WHERE resources_fts MATCH 'common OR title' ORDER BY rowid"),
                similar: await engine.knex.raw("SELECT rowid FROM resources_trgm WHERE resources_trgm MATCH 'com' ORDER BY rowid")
            });
            const migrated = await derived();
            expect(migrated.docs.length).to.equal(Number((await engine.knex('resources').count({ n: '*' }))[0]!.n));
            expect(Number(migrated.similar.length)).to.be.above(0);
            await rebuildSearchStorage(engine.knex, 'sqlite');
            expect(await derived()).to.equal(migrated);
        });
    });

    it('leaves a PostgreSQL target searching at full speed at once: champion lists built, nothing left to rank outside them', { ...postgres, timeout: 240_000 }, async () => {

        // More documents share a word than the champion lists' threshold
        // (2000), so that word gets a list.
        const library = await migrated(sqlite('champions'));
        await withEngine(library.url, async ({ knex }) => {

            await insertAwkwardLibrary(knex, 5);
            const template = await knex('resources').orderBy('id').first();
            const rows = Array.from({ length: 2100 }, (_, i) => ({ ...template, id: randomUUID(), title: `Harbour ledger ${i}`, source: `https://example.org/harbour/${i}` }));
            await knex.batchInsert('resources', rows, 100);
        });

        const target = await pg('champions');
        const report = await migrateData({ source: library.url, target: target.url, validate: true });
        expect(report.fatal).to.be.null();
        expect(report.ok).to.be.true();
        await withEngine(target.url, async ({ knex }) => {

            const champions = await knex('search_champions').where('lexeme', 'harbour').count({ n: '*' });
            expect(Number(champions[0]!.n)).to.be.above(0);
            // Every document is covered by the lists as built: none is
            // ranked outside them as "changed since", and the upkeep has
            // nothing to rebuild.
            const { rows } = await knex.raw('SELECT count(*)::integer AS n FROM resource_search WHERE changed_seq > (SELECT coalesce(max(built_seq), 0) FROM search_champion_state)');
            expect(rows[0].n).to.equal(0);
            expect(Number((await knex('resource_search').count({ n: '*' }))[0]!.n)).to.equal(2105);
            expect(await refreshChampionsIfStale(knex, 1)).to.be.null();
        });
    });

    it('refuses a non-empty target unless told to resume or truncate, and writes nothing', { ...postgres, timeout: 180_000 }, async () => {

        const target = await pg('occupied');
        await withEngine(target.url, (engine) => engine.knex('users').insert({ id: '11111111-1111-4111-8111-111111111111', email: 'x@example.org', role: 'reader' }));

        const refused = await migrateData({ source: source.url, target: target.url });
        expect(refused.ok).to.be.false();
        expect(refused.fatal).to.contain('not empty');
        const users = await withEngine(target.url, (engine) => engine.knex('users').select('email'));
        expect(users).to.equal([{ email: 'x@example.org' }]);

        const truncated = await migrateData({ source: source.url, target: target.url, truncate: true, validate: true });
        expect(truncated.ok, truncated.fatal ?? '').to.be.true();
        const emails = await withEngine(target.url, (engine) => engine.knex('users').orderBy('email').pluck('email'));
        expect(emails).to.equal(['plain@example.org', 'zoë@example.org']);
    });

    it('refuses an occupied target with pending migrations before migrating it', async () => {

        const target = sqlite('outdated');
        await withEngine(target.url, async (engine) => {

            await engine.knex.schema.createTable('users', (table) => {

                table.string('id').primary();
            });
            await engine.knex('users').insert({ id: 'someone' });
        });

        const report = await migrateData({ source: source.url, target: target.url });
        expect(report.ok).to.be.false();
        expect(report.fatal).to.contain('nothing was written');
        expect(report.appliedMigrations).to.equal([]);
        const tables = await withEngine(target.url, (engine) => engine.knex('sqlite_master').where('type', 'table').pluck('name'));
        expect(tables).to.equal(['users']);
    });

    it('reports a foreign key it cannot restore because the source has an orphan row', { ...postgres, timeout: 180_000 }, async () => {

        const orphaned = await migrated(sqlite('orphan'));
        await withEngine(orphaned.url, async (engine) => {

            await engine.knex.raw('PRAGMA foreign_keys = OFF');
            await engine.knex('annotations').insert({ id: '22222222-2222-4222-8222-222222222222', resource_id: '33333333-3333-4333-8333-333333333333', start_offset: 0, end_offset: 1, highlighted_text: 'x', tags: '[]' });
        });

        const target = await pg('orphan');
        const report = await migrateData({ source: orphaned.url, target: target.url, validate: true });
        expect(report.ok).to.be.false();
        expect(report.fatal).to.contain('could not restore constraint annotations_resource_id_foreign on annotations');
        expect(report.tables.find((table) => table.table === 'annotations')).to.include({ status: 'ok', targetRows: 1, checksumMatch: true });
    });

    it('fails the batch holding a value its column cannot hold, after writing the batches before it', { ...postgres, timeout: 180_000 }, async () => {

        const damaged = await migrated(sqlite('bad-json'));
        const { offset, key } = await withEngine(damaged.url, async (engine) => {

            await insertAwkwardLibrary(engine.knex);
            const ids = (await engine.knex('annotations').select('id').orderBy('id')).map((row: { id: string }) => row.id);
            const at = Math.min(14, ids.length - 1);
            // A value the target's CHECK constraint refuses (the pre-flight
            // knows types and lengths, not constraints).
            await engine.knex('annotations').where('id', ids[at]).update({ note: 'refused by the target' });
            return { offset: at, key: ids[at - (at % 10)] };
        });

        const target = await pg('bad-json');
        await withEngine(target.url, (engine) => engine.knex.raw("ALTER TABLE annotations ADD CONSTRAINT annotations_refuse CHECK (note IS DISTINCT FROM 'refused by the target')"));
        const report = await migrateData({ source: damaged.url, target: target.url, verifyRows: true, batchSize: 10 });
        expect(report.ok).to.be.false();
        const annotations = report.tables.find((table) => table.table === 'annotations')!;
        const batch = Math.floor(offset / 10) + 1;
        expect(annotations.status).to.equal('failed');
        expect(annotations.copiedRows).to.equal((batch - 1) * 10);
        expect(annotations.targetRows).to.equal((batch - 1) * 10);
        expect(annotations.errors[0]!.batch).to.equal(batch);
        expect(annotations.errors[0]!.message).to.contain(`batch ${batch} (`);
        expect(annotations.errors[0]!.message).to.contain(`first key ["${key}"]`);
        expect(annotations.errors[0]!.message).to.contain('violates check constraint "annotations_refuse"');
        // The rows from the failed batch on are named as missing.
        expect(annotations.differingKeys![0]).to.equal(`{"id":"${key}"} missing in target`);
        for (const table of report.tables.filter((entry) => entry.table !== 'annotations')) {
            expect(table.status, table.table).to.equal('ok');
            expect(table.checksumMatch, table.table).to.be.true();
        }
    });

    it('dry run validates and counts but writes nothing', postgres, async () => {

        const target = sqlite('dry');
        const report = await migrateData({ source: source.url, target: target.url, dryRun: true });
        expect(report.ok).to.be.true();
        expect(report.dryRun).to.be.true();
        expect(report.tables.find((table) => table.table === 'resources')!.sourceRows).to.equal(30);
        expect(Fs.existsSync(target.filename)).to.be.false();

        const pgTarget = await pg('dry');
        const onPg = await migrateData({ source: source.url, target: pgTarget.url, dryRun: true });
        expect(onPg.ok).to.be.true();
        expect(onPg.tables.every((table) => table.status === 'dry-run' && table.targetRows === 0)).to.be.true();
        const tables = await withEngine(pgTarget.url, async (engine) => (await engine.knex.raw("SELECT count(*) AS n FROM pg_tables WHERE tablename LIKE 'migrator\\_%'")).rows[0].n);
        expect(Number(tables)).to.equal(0);
    });

    it('rejects bad options before opening anything', async () => {

        await expect(migrateData({ source: source.url, target: 'mysql://x/y' })).to.reject(MigrationUsageError, /Accepted forms/);
        await expect(migrateData({ source: 'sqlite:/nonexistent/dir/x.db', target: 'sqlite:/tmp/y.db' })).to.reject(MigrationUsageError, /does not exist/);
        await expect(migrateData({ source: source.url, target: source.url })).to.reject(MigrationUsageError, /same database/);
        await expect(migrateData({ source: source.url, target: 'sqlite:/tmp/z.db', batchSize: 0 })).to.reject(MigrationUsageError, /batch size/);
        await expect(migrateData({ source: source.url, target: 'sqlite:/tmp/z.db', resume: true, truncate: true })).to.reject(MigrationUsageError, /exclude/);
        const absent = sqlite('unknown');
        const unknown = await migrateData({ source: source.url, target: absent.url, tables: ['nope'] });
        expect(unknown.fatal).to.contain('unknown table(s) nope');
        // Refused before the target was opened: no SQLite file was created.
        expect(Fs.existsSync(absent.filename)).to.be.false();
    });

    it('isolates a failing table, resumes after the fix and names the rows that differ', { ...postgres, timeout: 180_000 }, async () => {

        const target = await pg('narrow');
        await withEngine(target.url, (engine) => engine.knex.raw('ALTER TABLE graph_edges ADD CONSTRAINT graph_edges_short CHECK (length(edge_type) <= 3)'));

        const failed = await migrateData({ source: source.url, target: target.url, validate: true, batchSize: 10 });
        expectOnlyFailure(failed, 'graph_edges', 1, 'violates check constraint');

        // Someone edits a copied row, then the column is fixed and the run resumed.
        await withEngine(target.url, async (engine) => {

            await engine.knex('users').where('email', 'plain@example.org').update({ display_name: 'edited' });
            await engine.knex.raw('ALTER TABLE graph_edges DROP CONSTRAINT graph_edges_short');
        });

        const resumed = await migrateData({ source: source.url, target: target.url, resume: true, verifyRows: true, batchSize: 10 });
        expect(resumed.resumed).to.be.true();
        expect(resumed.tables.find((table) => table.table === 'graph_edges')!.status).to.equal('ok');
        const users = resumed.tables.find((table) => table.table === 'users')!;
        expect(users.status).to.equal('mismatch');
        expect(users.differingKeys).to.equal(['{"id":"00000000-0000-4000-8000-000000000002"} differs in display_name']);
        expect(resumed.ok).to.be.false();
    });

    it('rolls back a failed batch into SQLite, keeps the batches before it, and resumes after the fix', { timeout: 180_000 }, async () => {

        // A unique index the source's rows break (every edge is "related"):
        // unique indexes stay during a load, so the second row fails.
        const target = await migrated(sqlite('unique'));
        await withEngine(target.url, (engine) => engine.knex.raw('CREATE UNIQUE INDEX graph_edges_one_type ON graph_edges (edge_type)'));
        const failed = await migrateData({ source: source.url, target: target.url, validate: true, batchSize: 1 });
        expect(expectOnlyFailure(failed, 'graph_edges', 2, 'UNIQUE constraint failed').targetRows).to.equal(1);

        await withEngine(target.url, (engine) => engine.knex.raw('DROP INDEX graph_edges_one_type'));
        const resumed = await migrateData({ source: source.url, target: target.url, resume: true, validate: true, batchSize: 3 });
        expect(resumed.fatal).to.be.null();
        for (const table of resumed.tables) {
            expect(table.status, table.table).to.equal('ok');
            expect(table.checksumMatch, table.table).to.be.true();
        }

        expect(await withEngine(target.url, normalizedDump)).to.equal(await withEngine(source.url, normalizedDump));
    });

    it('hashes the source again on resume when the checkpoints hold checksums of another kind', { ...postgres, timeout: 180_000 }, async () => {

        const target = await pg('algorithm');
        await withEngine(target.url, (engine) => engine.knex.raw('ALTER TABLE graph_edges ADD CONSTRAINT graph_edges_short CHECK (length(edge_type) <= 3)'));
        const failed = await migrateData({ source: source.url, target: target.url, validate: true, batchSize: 10 });
        expect(failed.tables.find((table) => table.table === 'graph_edges')!.status).to.equal('failed');

        // As an older version would have left them: running checksums of
        // another algorithm, which no digest of this one can match.
        await withEngine(target.url, async (engine) => {

            await engine.knex('migrator_state').where({ key: 'checksum' }).delete();
            await engine.knex('migrator_checkpoints').whereNotNull('checksum').update({ checksum: 'f'.repeat(32) });
            await engine.knex.raw('ALTER TABLE graph_edges DROP CONSTRAINT graph_edges_short');
        });

        const resumed = await migrateData({ source: source.url, target: target.url, resume: true, validate: true, batchSize: 10 });
        expect(resumed.resumed).to.be.true();
        for (const table of resumed.tables) {
            expect(table.status, table.table).to.equal('ok');
            expect(table.checksumMatch, table.table).to.be.true();
        }

        expect(resumed.ok).to.be.true();
    });

    it('stops a run cancelled beside the search rebuild only once the rebuild is over, and resumes it', { ...postgres, timeout: 180_000 }, async () => {

        const target = await pg('cancel-search');
        const controller = new AbortController();
        const phases: string[] = [];
        const onProgress = (event: ProgressEvent) => {

            if (event.type === 'phase') {
                phases.push(event.phase);
                if (event.phase === 'search') {
                    controller.abort();
                }
            }
        };

        // One-row batches: other tables are still copying when resources is done.
        const cancelled = await migrateData({ source: source.url, target: target.url, batchSize: 1, signal: controller.signal, onProgress });
        expect(cancelled.ok).to.be.false();
        expect(cancelled.fatal).to.contain('--resume');
        expect(phases.filter((phase) => phase === 'search')).to.have.length(2);
        expect(phases).to.not.include('finish');
        await withEngine(target.url, async (engine) => {

            // The rebuild committed before the run returned, and nothing of it still runs.
            const { rows } = await engine.knex.raw(`SELECT (SELECT count(*) FROM resources) AS resources, (SELECT count(*) FROM resource_search) AS side,
                (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()) AS others`);
            expect(Number(rows[0].side)).to.equal(Number(rows[0].resources));
            expect(Number(rows[0].others)).to.equal(0);
        });

        const resumed = await migrateData({ source: source.url, target: target.url, resume: true, validate: true, batchSize: 50 });
        expect(resumed.fatal).to.be.null();
        expect(resumed.ok).to.be.true();
        expect(await withEngine(target.url, normalizedDump)).to.equal(await withEngine(source.url, normalizedDump));
    });

    /** Changes one digit of a big JSON integer, one character of a text and one millisecond of a timestamp in the target. */
    const corrupt = async (url: string): Promise<{ resource: string; user: string; annotation: string }> => {

        return await withEngine(url, async (engine) => {

            const { knex } = engine;
            const text = engine.type === 'postgres' ? 'sparse_embedding::text' : 'sparse_embedding';
            const resource = await knex('resources').whereRaw(`${text} like '%"huge": 12345678901234567890%' or ${text} like '%"huge":12345678901234567890%'`).first('id', 'sparse_embedding');
            await knex('resources').where('id', resource.id).update({
                sparse_embedding: engine.type === 'postgres' ?
                    knex.raw("jsonb_set(sparse_embedding, '{huge}', '12345678901234567891'::jsonb)") :
                    resource.sparse_embedding.replace(/:12345678901234567890/, ':12345678901234567891')
            });
            const user = await knex('users').whereNotNull('display_name').first('id', 'display_name');
            await knex('users').where('id', user.id).update({ display_name: user.display_name.replace('emoji', 'emojI') });
            const annotation = await knex('annotations').where('start_offset', 3).first('id', 'created_at');
            await knex('annotations').where('id', annotation.id).update({ created_at: new Date(Date.parse(annotation.created_at) + 1).toISOString() });
            return { resource: resource.id, user: user.id, annotation: annotation.id };
        });
    };

    const expectCaught = (report: MigrationReport, changed: { resource: string; user: string; annotation: string }) => {

        expect(report.resumed).to.be.true();
        expect(report.ok).to.be.false();
        const expected: Record<string, string> = {
            resources: `{"id":"${changed.resource}"} differs in sparse_embedding`,
            users: `{"id":"${changed.user}"} differs in display_name`,
            annotations: `{"id":"${changed.annotation}"} differs in created_at`
        };
        for (const table of report.tables) {
            if (expected[table.table]) {
                expect(table.status, table.table).to.equal('mismatch');
                expect(table.checksumMatch, table.table).to.be.false();
                expect(table.differingKeys, table.table).to.equal([expected[table.table]!]);
            }
            else {
                expect(table.status, table.table).to.equal('ok');
                expect(table.checksumMatch, table.table).to.be.true();
            }
        }
    };

    it('fails validation into PostgreSQL when one digit, one character or one millisecond changed, and names key and column', { ...postgres, timeout: 180_000 }, async () => {

        // graph_edges fails, so the run stops with its checkpoints; the
        // target is changed; the resumed run validates against the source.
        const target = await pg('corrupt');
        await withEngine(target.url, (engine) => engine.knex.raw('ALTER TABLE graph_edges ADD CONSTRAINT graph_edges_short CHECK (length(edge_type) <= 3)'));
        const failed = await migrateData({ source: source.url, target: target.url, validate: true, batchSize: 10 });
        expectOnlyFailure(failed, 'graph_edges', 1, 'violates check constraint');

        const changed = await corrupt(target.url);
        await withEngine(target.url, (engine) => engine.knex.raw('ALTER TABLE graph_edges DROP CONSTRAINT graph_edges_short'));
        expectCaught(await migrateData({ source: source.url, target: target.url, resume: true, verifyRows: true, batchSize: 10 }), changed);
    });

    it('fails validation into SQLite when one digit, one character or one millisecond changed, and names key and column', { ...postgres, timeout: 180_000 }, async () => {

        const middle = await pg('corrupt-source', false);
        expect((await migrateData({ source: source.url, target: middle.url })).ok).to.be.true();
        const target = await migrated(sqlite('corrupt'));
        await withEngine(target.url, (engine) => engine.knex.raw('CREATE UNIQUE INDEX graph_edges_one_type ON graph_edges (edge_type)'));
        const failed = await migrateData({ source: middle.url, target: target.url, validate: true, batchSize: 1 });
        expectOnlyFailure(failed, 'graph_edges', 2, 'UNIQUE constraint failed');

        const changed = await corrupt(target.url);
        await withEngine(target.url, (engine) => engine.knex.raw('DROP INDEX graph_edges_one_type'));
        expectCaught(await migrateData({ source: middle.url, target: target.url, resume: true, verifyRows: true, batchSize: 10 }), changed);
    });
});
