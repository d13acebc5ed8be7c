import { spawn } from 'node:child_process';
import Fs from 'node:fs';
import Path from 'node:path';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import type { BackupJob } from '../../plugins/backup/jobs';
import { testDatabaseUrl } from '../../server/config';
import { checkConnection, createDatabaseEngine, NotDirectError } from '../../server/db/engine';
import { prepareSessions } from '../../server/db/sessions';
import { migrationConfig } from '../../server/db/migrations';
import { backupEngine, PG_TOOL_PATH, tempBackupDir } from '../helpers/backup';
import { dropPostgresDatabase, ensurePostgresDatabase, isPostgres, removeSqliteFiles, tempSqlitePath } from '../helpers/database';
import { pgbouncerBinary, startPgBouncer, type PgBouncer } from '../helpers/pgbouncer';
import { adminHeaders, createTestServer, type TestServer } from '../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const ROOT = Path.resolve(__dirname, '..', '..');

// PostgreSQL only. Without pgbouncer installed the tests are skipped on a
// developer's machine; with CI set they run and fail instead (.ci/run installs it).
const available = isPostgres && (pgbouncerBinary() !== null || Boolean(process.env.CI));
const throughPgBouncer = { skip: !available };

/** A database of its own next to the test database, for settings and migrations no other test may see. */
function siblingUrl(suffix: string): string {

    const url = new URL(testDatabaseUrl()!);
    url.pathname = `${url.pathname}_${suffix}`;
    return url.toString();
}

interface CommandResult {
    code: number | null;
    output: string;
}

async function run(command: string, args: string[], env: Record<string, string>): Promise<CommandResult> {

    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, NODE_ENV: 'test', LOG_LEVEL: 'silent' };
    for (const name of ['DATABASE_URL', 'DATABASE_DIRECT_URL']) {
        if (!(name in env)) {
            delete childEnv[name];
        }
    }

    return await new Promise((resolve, reject) => {

        const child = spawn(command, args, { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk) => {

            output += String(chunk);
        });
        child.stderr.on('data', (chunk) => {

            output += String(chunk);
        });
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, output }));
    });
}

describe('PgBouncer (transaction pooling)', () => {

    let bouncer: PgBouncer;
    let t: TestServer;
    let backupDir: string;
    let directUrl: string;

    const inject = (method: string, url: string, payload?: object) => t.server.inject({ method, url, payload, headers: adminHeaders });

    /** Settings seen by `count` pooled connections at once (the pool of 4 server connections is shared by all of them). */
    const pooledSettings = async (count: number) => {

        let arrived = 0;
        let releaseAll!: () => void;
        const allOpen = new Promise<void>((resolve) => {

            releaseAll = resolve;
        });
        return await Promise.all(Array.from({ length: count }, () => t.server.knex.transaction(async (trx) => {

            const { rows: [row] } = await trx.raw(`
                SELECT current_setting('statement_timeout') AS timeout, current_setting('TimeZone') AS zone,
                       current_setting('default_transaction_isolation') AS isolation, current_setting('application_name') AS name,
                       current_setting('search_path') AS search_path, current_setting('client_min_messages') AS messages,
                       pg_backend_pid() AS pid`);
            if (++arrived === count) {
                releaseAll();
            }

            await allOpen;
            return row;
        })));
    };

    before(async () => {

        if (!available) {
            return;
        }

        directUrl = testDatabaseUrl()!;
        // Four server connections for up to 20 clients: every request shares
        // server connections with others, as it does under load in production.
        bouncer = await startPgBouncer({ serverUrl: directUrl, settings: { default_pool_size: 4, reserve_pool_size: 0 } });
        backupDir = tempBackupDir();
        t = await createTestServer({
            DATABASE_URL: bouncer.url(directUrl),
            DATABASE_DIRECT_URL: directUrl,
            DB_POOL_MAX: '20',
            DB_APPLICATION_NAME: 'na-through-pgbouncer',
            BACKUP_DIR: backupDir,
            BACKUP_PG_BIN_DIR: PG_TOOL_PATH.split(':')[0]!
        }, { seed: true });
    });

    after(async () => {

        if (!available) {
            return;
        }

        await t?.stop();
        await bouncer?.stop();
        Fs.rmSync(backupDir, { recursive: true, force: true });
    });

    it('postgres only: through PgBouncer: SHOW returns the configured session settings on every server connection', throughPgBouncer, async () => {

        const show = async (name: string) => Object.values((await t.server.knex.raw(`SHOW ${name}`)).rows[0])[0];
        expect([await show('statement_timeout'), await show('TimeZone'), await show('default_transaction_isolation'), await show('application_name')])
            .to.equal(['30s', 'UTC', 'read committed', 'na-through-pgbouncer']);

        const rows = await pooledSettings(4);
        expect(new Set(rows.map((row) => row.pid)).size).to.equal(4);
        for (const row of rows) {
            expect(row).to.include({ timeout: '30s', zone: 'UTC', isolation: 'read committed', name: 'na-through-pgbouncer' });
        }

        // It did go through PgBouncer: its pool for this database holds the server connections.
        const database = decodeURIComponent(new URL(directUrl).pathname.slice(1));
        const pools = await bouncer.admin('SHOW POOLS');
        const pool = pools.find((row) => row.database === database)!;
        expect(pool).to.exist();
        expect(Number(pool.sv_idle) + Number(pool.sv_used) + Number(pool.sv_active)).to.be.within(1, 4);
    });

    it('postgres only: through PgBouncer: statements stay unnamed, and settings hold even where PgBouncer drops startup options', { ...throughPgBouncer, timeout: 30_000 }, async () => {

        expect(t.server.db.namedStatements).to.be.false();
        const pooled = createDatabaseEngine(bouncer.url(directUrl), { min: 0, max: 2 });
        // The configuration the issue tried first: options accepted and silently dropped.
        const ignoring = await startPgBouncer({ serverUrl: directUrl, settings: { ignore_startup_parameters: 'options' } });
        const dropping = createDatabaseEngine(ignoring.url(directUrl), { min: 0, max: 2 });
        const directThroughIt = createDatabaseEngine(ignoring.url(directUrl), { min: 0, max: 1 }, { kind: 'direct' });
        try {
            // A direct engine pointed at it finds out and says so.
            await expect(checkConnection(directThroughIt)).to.reject(NotDirectError, /set DATABASE_DIRECT_URL/);
            for (const engine of [pooled, dropping]) {
                expect((await prepareSessions(engine, {}, null)).warnings).to.equal([]);
                expect(engine.namedStatements).to.be.false();
                const { rows: [row] } = await engine.knex.raw(`SELECT current_setting('statement_timeout') AS timeout, current_setting('TimeZone') AS zone`);
                expect(row).to.equal({ timeout: '30s', zone: 'UTC' });
            }
        }
        finally {
            await pooled.destroy();
            await dropping.destroy();
            await directThroughIt.destroy();
            await ignoring.stop();
        }
    });

    it('postgres only: through PgBouncer: a statement past the configured timeout is cancelled', { ...throughPgBouncer, timeout: 30_000 }, async () => {

        // A database of its own: the timeout becomes the role's default there.
        const url = siblingUrl('pgb_timeout');
        await ensurePostgresDatabase(url);
        const engine = createDatabaseEngine(bouncer.url(url), { min: 0, max: 2, statementTimeoutMs: 500 });
        const direct = createDatabaseEngine(url, { min: 0, max: 1 }, { kind: 'direct' });
        try {
            expect((await prepareSessions(engine, { statementTimeoutMs: 500 }, direct)).warnings).to.equal([]);
            const started = Date.now();
            const error = await expect(engine.knex.raw('SELECT pg_sleep(3)')).to.reject();
            expect((error as any).code).to.equal('57014');
            expect(Date.now() - started).to.be.below(2500);
        }
        finally {
            await engine.destroy();
            await direct.destroy();
            await dropPostgresDatabase(url);
        }
    });

    it('postgres only: through PgBouncer: a 31 s query is cancelled by the default 30 s statement timeout', { ...throughPgBouncer, timeout: 45_000 }, async () => {

        const started = Date.now();
        const error = await expect(t.server.knex.raw('SELECT pg_sleep(31)')).to.reject();
        expect((error as any).code).to.equal('57014');
        expect(Date.now() - started).to.be.between(29_000, 31_000);
    });

    it('postgres only: through PgBouncer: serves the API, search, PATCH under FOR UPDATE and monitoring', { ...throughPgBouncer, timeout: 30_000 }, async () => {

        const list = await inject('GET', '/resources?limit=20');
        expect(list.statusCode).to.equal(200);
        const items = (list.result as { items: Array<{ id: string; title: string }> }).items;
        expect(items.length).to.equal(20);

        // Many lookups at once share the four server connections.
        const lookups = await Promise.all(items.map((item) => inject('GET', `/resources/${item.id}`)));
        expect(lookups.map((res) => res.statusCode)).to.equal(items.map(() => 200));
        // Unnamed statements: nothing was left on PgBouncer's server connections.
        const prepared = await Promise.all([1, 2, 3, 4].map(() => t.server.knex.raw('SELECT count(*) AS n FROM pg_prepared_statements')));
        expect(prepared.map(({ rows }) => rows[0].n)).to.equal([0, 0, 0, 0]);

        const word = items[0]!.title.split(/\s+/).find((candidate) => candidate.length > 4)!;
        const search = await inject('GET', `/search?q=${encodeURIComponent(word)}`);
        expect(search.statusCode).to.equal(200);
        expect((search.result as { total: number }).total).to.be.above(0);

        // Concurrent read-modify-writes on one row: the row lock holds through the pooler.
        const target = items[1]!.id;
        const subjects = Array.from({ length: 10 }, (_, i) => `pgbouncer subject ${i}`);
        const patches = await Promise.all(subjects.map((subject) => inject('PATCH', `/resources/${target}`, { subject_add: [subject] })));
        expect(patches.map((res) => res.statusCode)).to.equal(subjects.map(() => 200));
        const patched = (await inject('GET', `/resources/${target}`)).result as { subject: string[] };
        expect(patched.subject).to.include(subjects);

        for (const url of ['/health', '/collections', '/taxonomy', '/classification-codes', '/monitoring/database', '/monitoring/queries', '/metrics', '/ops/overview', '/migrator/schema']) {
            const res = await inject('GET', url);
            expect(res.statusCode, `${url}: ${res.payload.slice(0, 200)}`).to.equal(200);
        }

        const created = await inject('POST', '/resources', { title: 'Through the pooler' });
        expect(created.statusCode).to.equal(201);
        const id = (created.result as { id: string }).id;
        expect((await inject('POST', `/resources/${id}/annotations`, { start_offset: 0, end_offset: 4, highlighted_text: 'Thro' })).statusCode).to.equal(201);
        expect((await inject('DELETE', `/resources/${id}`)).statusCode).to.equal(204);
    });

    it('postgres only: through PgBouncer: the server starts with DATABASE_URL on PgBouncer alone and answers', { ...throughPgBouncer, timeout: 60_000 }, async () => {

        const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts'], {
            cwd: ROOT,
            env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '0', DATABASE_URL: bouncer.url(directUrl), ENABLE_CONSOLE: '0' },
            stdio: ['ignore', 'pipe', 'pipe']
        });
        let output = '';
        const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
        try {
            const uri = await new Promise<string>((resolve, reject) => {

                const onData = (chunk: Buffer) => {

                    output += String(chunk);
                    const found = /server on (http:\/\/\S+)/.exec(output);
                    if (found) {
                        resolve(found[1]!);
                    }
                };
                child.stdout.on('data', onData);
                child.stderr.on('data', onData);
                void exited.then((code) => reject(new Error(`server exited (${code}): ${output}`)));
            });
            const health = await fetch(`${uri}/health`);
            expect(health.status, output).to.equal(200);
            const resource = ((await t.server.inject('/resources?limit=1')).result as { items: Array<{ id: string }> }).items[0]!;
            expect((await fetch(`${uri}/resources/${resource.id}`)).status).to.equal(200);
            expect(output).to.not.contain('unsupported startup parameter');
        }
        finally {
            child.kill('SIGTERM');
            await exited;
        }
    });

    it('postgres only: through PgBouncer: npm run migrate says a pooler is in the way, and migrates over DATABASE_DIRECT_URL', { ...throughPgBouncer, timeout: 60_000 }, async () => {

        const url = siblingUrl('pgb_migrate');
        await dropPostgresDatabase(url);
        await ensurePostgresDatabase(url);
        try {
            const refused = await run('npm', ['run', 'migrate'], { DATABASE_URL: bouncer.url(url) });
            expect(refused.code).to.equal(1);
            expect(refused.output).to.contain('connection pooler (PgBouncer)');
            expect(refused.output).to.contain('set DATABASE_DIRECT_URL');
            expect(refused.output).to.not.contain('pool is probably full');

            const migrated = await run('npm', ['run', 'migrate'], { DATABASE_URL: bouncer.url(url), DATABASE_DIRECT_URL: url });
            expect(migrated.code, migrated.output).to.equal(0);
            expect(migrated.output).to.match(/Batch 1 run: \d+ migrations/);
        }
        finally {
            await dropPostgresDatabase(url);
        }
    });

    it('postgres only: through PgBouncer: scripts/migrate-data.ts moves a library over the direct connection', { ...throughPgBouncer, timeout: 90_000 }, async () => {

        const source = tempSqlitePath('pgb-source');
        const target = siblingUrl('pgb_data');
        await dropPostgresDatabase(target);
        await ensurePostgresDatabase(target);
        const sqlite = createDatabaseEngine(`sqlite:${source}`);
        try {
            await sqlite.knex.migrate.latest(migrationConfig);
            await sqlite.knex('users').insert([{ id: '00000000-0000-4000-8000-000000000001', email: 'ada@example.org' }]);
            await sqlite.destroy();

            const args = ['--import', 'tsx', 'scripts/migrate-data.ts', '--source', `sqlite:${source}`, '--target', bouncer.url(target), '--validate'];
            const refused = await run('node', args, { DATABASE_URL: bouncer.url(target) });
            expect(refused.code).to.equal(1);
            expect(refused.output).to.contain('set DATABASE_DIRECT_URL');

            // The pooled URL as the target means its direct connection.
            const moved = await run('node', args, { DATABASE_URL: bouncer.url(target), DATABASE_DIRECT_URL: target });
            expect(moved.code, moved.output).to.equal(0);
            const check = createDatabaseEngine(target, { min: 0, max: 1 });
            try {
                expect(await check.knex('users').pluck('email')).to.equal(['ada@example.org']);
            }
            finally {
                await check.destroy();
            }
        }
        finally {
            await sqlite.destroy();
            removeSqliteFiles(source);
            await dropPostgresDatabase(target);
        }
    });

    it('postgres only: through PgBouncer: backup, verify and restore use DATABASE_DIRECT_URL and leave no setting on a pooled connection', { ...throughPgBouncer, timeout: 120_000 }, async () => {

        const finished = async (job: BackupJob): Promise<BackupJob> => {

            for (const deadline = Date.now() + 90_000; ;) {
                const res = await inject('GET', `/backup-jobs/${job.id}`);
                const current = res.result as BackupJob;
                // A full restore replaces ops_jobs with the backup's rows; the
                // restore job writes its own row back when it ends.
                const between = res.statusCode === 404 && Date.now() < deadline;
                if (!between && current.state !== 'running') {
                    return current;
                }

                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        };

        const start = async (url: string, payload: object = {}) => {

            const res = await inject('POST', url, payload);
            expect(res.statusCode, res.payload).to.equal(202);
            const job = await finished((res.result as { job: BackupJob }).job);
            expect(job.state, `${url}: ${job.error ?? JSON.stringify(job)}`).to.equal('succeeded');
            return job;
        };

        const before = await pooledSettings(4);
        const created = await start('/backups', { format: 'plain' });
        const name = (created.result as { name: string }).name;
        expect(((await start(`/backups/${name}/verify`)).result as { ok: boolean }).ok).to.be.true();
        const database = ((await inject('GET', '/backups')).result as { database: string }).database;
        const restored = await start(`/backups/${name}/restore`, { confirm: database });
        expect(restored.result).to.include({ mode: 'full' });

        // pg_dump and psql set search_path, client_min_messages and more in
        // their sessions: none of it reached PgBouncer's server connections.
        const after = await pooledSettings(4);
        const strip = (rows: typeof before) => rows.map(({ pid, ...settings }) => settings);
        expect(strip(after)).to.equal(strip(before));
        expect((await inject('GET', '/resources?limit=5')).statusCode).to.equal(200);

        // Pointed at PgBouncer itself, a backup refuses instead of dumping through it.
        const unsafe = backupEngine(bouncer.url(directUrl), tempBackupDir());
        const error = await expect(unsafe.create()).to.reject(Error);
        expect(error.message).to.contain('set DATABASE_DIRECT_URL');
    });

    it('postgres only: through PgBouncer: the cron backup script refuses PgBouncer and dumps over DATABASE_DIRECT_URL', { ...throughPgBouncer, timeout: 60_000 }, async () => {

        const dir = tempBackupDir();
        try {
            const env = { BACKUP_DIR: dir, BACKUP_PG_BIN_DIR: PG_TOOL_PATH.split(':')[0]!, DATABASE_URL: bouncer.url(directUrl) };
            const refused = await run('bash', ['scripts/backup_postgresql.sh'], env);
            expect(refused.code).to.not.equal(0);
            expect(refused.output).to.contain('unsupported startup parameter: options');
            expect(Fs.readdirSync(dir)).to.equal([]);

            const dumped = await run('bash', ['scripts/backup_postgresql.sh'], { ...env, DATABASE_DIRECT_URL: directUrl });
            expect(dumped.code, dumped.output).to.equal(0);
            expect(Fs.readdirSync(dir).filter((name) => name.endsWith('.dump'))).to.have.length(1);
        }
        finally {
            Fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it('postgres only: through PgBouncer: 2,000 mixed requests, no 5xx', { ...throughPgBouncer, timeout: 180_000 }, async () => {

        const ids = ((await inject('GET', '/resources?limit=100')).result as { items: Array<{ id: string; title: string }> }).items.map((item) => item.id);
        const words = ['history', 'science', 'library', 'data', 'music', 'art'];
        const request = (i: number) => {

            const id = ids[i % ids.length]!;
            switch (i % 10) {
                case 0: return inject('GET', `/resources?limit=20&offset=${i % 50}`);
                case 1: return inject('GET', `/search?q=${words[i % words.length]}`);
                case 2: return inject('PATCH', `/resources/${id}`, { subject_add: [`load ${i % 7}`] });
                case 3: return inject('POST', '/resources', { title: `Load test ${i}` });
                case 4: return inject('GET', '/collections');
                case 5: return inject('GET', `/resources/${id}/annotations`);
                default: return inject('GET', `/resources/${id}`);
            }
        };

        const statuses = new Map<number, number>();
        let next = 0;
        const worker = async () => {

            while (next < 2000) {
                const res = await request(next++);
                statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
            }
        };

        await Promise.all(Array.from({ length: 40 }, worker));
        const failures = [...statuses].filter(([status]) => status >= 500);
        expect(failures, JSON.stringify([...statuses])).to.equal([]);
        expect([...statuses.values()].reduce((a, b) => a + b)).to.equal(2000);
    });
});
