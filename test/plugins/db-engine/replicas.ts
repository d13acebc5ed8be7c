import { expect } from '@hapi/code';
import type { Server } from '@hapi/hapi';
import * as Lab from '@hapi/lab';

import { renderPoolPanel } from '../../../plugins/monitoring/panel';
import { loadConfig, type Env } from '../../../server/config';
import { parseLsn } from '../../../server/db/replicas';
import { createServer, prepareDatabase } from '../../../server/index';
import { pgClusterUnavailable } from '../../helpers/pg-cluster';
import { freePort } from '../../helpers/ports';
import { startReplicaPair, type ReplicaPair } from '../../helpers/replica-pair';
import { needsPostgres } from '../../helpers/requirements';
import { adminHeaders, TEST_ADMIN_TOKEN, TEST_SESSION_SECRET } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

// Its own primary + streaming standby: in both suites, where PostgreSQL's
// binaries are (CI always).
const requirement = needsPostgres().skip || pgClusterUnavailable() !== null ? { skip: true } : { skip: false };
const DATABASE = 'library';
const APPLICATION = 'na-replica-test';

async function startServer(env: Env): Promise<Server> {

    const config = loadConfig({
        NODE_ENV: 'test',
        ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        SESSION_SECRET: TEST_SESSION_SECRET,
        AUTO_MIGRATE: '0',
        SEED_DEMO: '0',
        DB_POOL_MIN: '0',
        DB_POOL_MAX: '6',
        // A dead replica's connection attempts fail within this.
        DB_ACQUIRE_TIMEOUT_MS: '3000',
        DB_APPLICATION_NAME: APPLICATION,
        BACKUP_DIR: `./backups/test-${process.pid}`,
        ...env
    });
    const server = await createServer(config);
    try {
        await prepareDatabase(server, config);
    }
    catch (error) {
        await server.replicas.destroy();
        await server.db.destroy();
        throw error;
    }

    await server.initialize();
    return server;
}

/** Retries `check` until it stops throwing; the last failure after `timeoutMs`. */
async function eventually(check: () => unknown, { timeoutMs }: { timeoutMs: number }): Promise<void> {

    const deadline = Date.now() + timeoutMs;
    for (;;) {
        try {
            await check();
            return;
        }
        catch (error) {
            if (Date.now() > deadline) {
                throw error;
            }
        }

        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

const newResource = (title: string) => ({ title, source: `https://example.org/${encodeURIComponent(title)}`, description: `${title} about replicas` });

describe('db-engine: read replicas', () => {

    describe('configuration', () => {

        const base = { NODE_ENV: 'test', DATABASE_URL: 'postgres://app:secret@db:5432/library' };

        it('refuses DATABASE_REPLICA_URLS on SQLite, naming why', () => {

            expect(() => loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'sqlite::memory:', DATABASE_REPLICA_URLS: 'postgres://db2/library' }))
                .to.throw(/Invalid DATABASE_REPLICA_URLS: read replicas need PostgreSQL/);
        });

        it('refuses empty entries, non-PostgreSQL URLs, repeats and the primary itself, with the password hidden', () => {

            expect(() => loadConfig({ ...base, DATABASE_REPLICA_URLS: 'postgres://db2/library,' })).to.throw(/entry 2 is empty/);
            expect(() => loadConfig({ ...base, DATABASE_REPLICA_URLS: 'sqlite:./x.db' })).to.throw(/entry 1 is not a PostgreSQL URL/);
            expect(() => loadConfig({ ...base, DATABASE_REPLICA_URLS: 'mysql://db2/library' })).to.throw(/Invalid DATABASE_REPLICA_URLS: entry 1:/);
            expect(() => loadConfig({ ...base, DATABASE_REPLICA_URLS: 'postgres://db2/library, postgres://other@db2:5432/library' })).to.throw(/entry 2 repeats/);
            let message = '';
            try {
                loadConfig({ ...base, DATABASE_REPLICA_URLS: 'postgres://app:hunter2@db:5432/library' });
            }
            catch (error) {
                message = (error as Error).message;
            }

            expect(message).to.contain('names the primary itself');
            expect(message).to.not.contain('hunter2');
            expect(() => loadConfig({ ...base, REPLICA_MAX_LAG_MS: '0' })).to.throw(/Invalid REPLICA_MAX_LAG_MS/);
            expect(() => loadConfig({ ...base, REPLICA_MAX_LAG_MS: 'soon' })).to.throw(/Invalid REPLICA_MAX_LAG_MS/);
        });

        it('reads a list, trimmed, with the lag bound defaulting to 5 s', () => {

            const config = loadConfig({ ...base, DATABASE_REPLICA_URLS: ' postgres://db2/library , postgres://db3/library ' });
            expect(config.replicas).to.equal({ urls: ['postgres://db2/library', 'postgres://db3/library'], maxLagMs: 5000 });
            expect(loadConfig({ ...base, DATABASE_REPLICA_URLS: '' }).replicas.urls).to.equal([]);
        });

        it('reads WAL positions and nothing else as consistency tokens', () => {

            expect(parseLsn('0/16B3748')).to.equal(0x16B3748n);
            expect(parseLsn('1/0')).to.equal(1n << 32n);
            expect(parseLsn('0/16B3748x')).to.be.null();
            expect(parseLsn('')).to.be.null();
            expect(parseLsn(undefined)).to.be.null();
        });
    });

    describe('with a streaming standby', { timeout: 300_000 }, () => {

        let pair: ReplicaPair;
        let server: Server;

        before({ timeout: 300_000 }, async () => {

            if (requirement.skip) {
                return;
            }

            pair = await startReplicaPair();
            await pair.primary.psql(`CREATE DATABASE ${DATABASE}`);
            // Schema on the primary (the replica receives it by replication).
            const migrating = await startServer({ DATABASE_URL: pair.primary.url(DATABASE), AUTO_MIGRATE: '1' });
            await migrating.stop();
            server = await startServer({ DATABASE_URL: pair.primary.url(DATABASE), DATABASE_REPLICA_URLS: pair.replica.url(DATABASE) });
            for (let i = 0; i < 5; ++i) {
                expect((await server.inject({ method: 'POST', url: '/resources', payload: newResource(`Seed ${i}`) })).statusCode).to.equal(201);
            }

            await pair.caughtUp();
            await server.replicas.sample();
        });

        after({ timeout: 120_000 }, async () => {

            await server?.stop();
            await pair?.stop();
        });

        it('serves the read routes from the replica (its pg_stat_activity shows the reads)', requirement, async () => {

            const reads = await Promise.all(Array.from({ length: 4 }, () => server.inject('/resources?limit=5')));
            for (const res of reads) {
                expect(res.statusCode).to.equal(200);
                expect(res.headers['x-read-from']).to.equal('replica');
            }

            for (const url of ['/search?q=replicas', '/collections', '/taxonomy', '/classification-codes']) {
                const res = await server.inject(url);
                expect(res.statusCode, url).to.equal(200);
                expect(res.headers['x-read-from'], url).to.equal('replica');
            }

            // The replica's own view: connections of this application whose last statement read resources.
            const seen = Number(await pair.replica.psql(`SELECT count(*) FROM pg_stat_activity WHERE application_name = '${APPLICATION}' AND datname = '${DATABASE}' AND query ILIKE '%from "resources"%'`));
            expect(seen).to.be.above(0);
            expect(server.replicas.status()[0]!.reads).to.be.above(reads.length - 1);
            // The query monitor counts the replica's statements for their route.
            const queries = await server.inject({ url: '/monitoring/queries', headers: adminHeaders });
            const route = (queries.result as any).routes.find((row: any) => row.route === 'GET /resources');
            expect(Number(route.queries)).to.be.above(reads.length - 1);
            // /health checks the primary itself and reports each database's role.
            const health = await server.inject('/health');
            expect(health.statusCode).to.equal(200);
            expect((health.result as any).database.role).to.equal('primary');
            expect((health.result as any).replicas).to.equal([{ role: 'standby', in_rotation: true, state: 'in-rotation', lag_seconds: 0 }]);
        });

        it('answers every write with a consistency token, and refuses a malformed one on a read', requirement, async () => {

            const created = await server.inject({ method: 'POST', url: '/resources', payload: newResource('Token') });
            expect(created.statusCode).to.equal(201);
            expect(parseLsn(created.headers['x-consistency-token'])).to.not.be.null();
            const bad = await server.inject({ url: '/resources', headers: { 'x-consistency-token': 'yesterday' } });
            expect(bad.statusCode).to.equal(400);
            expect((bad.result as any).message).to.contain('x-consistency-token');
        });

        it('reads its own write from the primary while replay is paused; without the token the replica still serves', requirement, async () => {

            await pair.replica.psql('SELECT pg_wal_replay_pause()');
            try {
                const created = await server.inject({ method: 'POST', url: '/resources', payload: newResource('Paused') });
                expect(created.statusCode).to.equal(201);
                const token = created.headers['x-consistency-token'] as string;
                const id = (created.result as any).id;

                const own = await server.inject({ url: `/resources/${id}`, headers: { 'x-consistency-token': token } });
                expect(own.statusCode).to.equal(200);
                expect((own.result as any).title).to.equal('Paused');
                expect(own.headers['x-read-from']).to.equal('primary');

                // Without it: the replica answers, as stale as it is (within the lag bound).
                const stale = await server.inject(`/resources/${id}`);
                expect(stale.statusCode).to.equal(404);
                expect(stale.headers['x-read-from']).to.equal('replica');
                const list = await server.inject('/resources?limit=100');
                expect(list.statusCode).to.equal(200);
                expect(list.headers['x-read-from']).to.equal('replica');
                expect((list.result as any).items.map((row: any) => row.title)).to.not.include('Paused');

                await pair.replica.psql('SELECT pg_wal_replay_resume()');
                await pair.caughtUp();
                // Once the replica has replayed past the token, it serves that reader too.
                await eventually(async () => {

                    const res = await server.inject({ url: `/resources/${id}`, headers: { 'x-consistency-token': token } });
                    expect(res.statusCode).to.equal(200);
                    expect(res.headers['x-read-from']).to.equal('replica');
                }, { timeoutMs: 15_000 });
            }
            finally {
                await pair.replica.psql('SELECT pg_wal_replay_resume()');
            }
        });

        it('takes a replica over the lag bound out of rotation and back in when it catches up', requirement, async () => {

            // A password in the URL (trust authentication ignores it) that no report may show.
            const replicaUrl = pair.replica.url(DATABASE).replace('postgres@', 'postgres:s3cret-pw@');
            const lagging = await startServer({ DATABASE_URL: pair.primary.url(DATABASE), DATABASE_REPLICA_URLS: replicaUrl, REPLICA_MAX_LAG_MS: '400' });
            try {
                expect(lagging.replicas.status()[0]!.state).to.equal('in-rotation');
                await pair.replica.psql('SELECT pg_wal_replay_pause()');
                expect((await lagging.inject({ method: 'POST', url: '/resources', payload: newResource('Lagging') })).statusCode).to.equal(201);
                await eventually(() => {

                    const [status] = lagging.replicas.status();
                    expect(status!.state).to.equal('lagging');
                    expect(status!.lagBytes!).to.be.above(0);
                    expect(status!.lagSeconds!).to.be.above(0.4);
                }, { timeoutMs: 15_000 });

                const read = await lagging.inject('/resources?limit=100');
                expect(read.statusCode).to.equal(200);
                expect(read.headers['x-read-from']).to.equal('primary');
                expect((read.result as any).items.map((row: any) => row.title)).to.include('Lagging');
                const report = await lagging.inject({ url: '/monitoring/database', headers: adminHeaders });
                expect(report.statusCode).to.equal(200);
                expect((report.result as any).replicas[0]).to.include({ role: 'standby', state: 'lagging', in_rotation: false });
                expect(report.payload).to.not.contain('s3cret-pw');
                const target = (report.result as any).replicas[0].target;
                expect(target).to.equal(`postgres://postgres:***@127.0.0.1:${pair.replica.port}/${DATABASE}`);
                const metrics = await lagging.inject({ url: '/metrics', headers: adminHeaders });
                expect(metrics.statusCode).to.equal(200);
                expect(metrics.payload).to.contain(`na_db_replica_in_rotation{replica="${target}"} 0`);
                const lagLine = metrics.payload.split('\n').find((line) => line.startsWith(`na_db_replica_lag_bytes{replica="${target}"} `));
                expect(Number(lagLine!.split(' ').pop())).to.be.above(0);
                expect(metrics.payload).to.contain(`na_db_replica_info{replica="${target}",role="standby",state="lagging"} 1`);
                expect(metrics.payload).to.not.contain('s3cret-pw');
                const panel = renderPoolPanel(report.result as any).toString();
                expect(panel).to.contain('Read replicas');
                expect(panel).to.contain('lagging');
                expect(panel).to.not.contain('s3cret-pw');

                await pair.replica.psql('SELECT pg_wal_replay_resume()');
                await eventually(() => expect(lagging.replicas.status()[0]!.state).to.equal('in-rotation'), { timeoutMs: 15_000 });
                expect((await lagging.inject('/resources')).headers['x-read-from']).to.equal('replica');
            }
            finally {
                await pair.replica.psql('SELECT pg_wal_replay_resume()');
                await lagging.stop();
            }
        });

        it('never reads from a listed database that is not a standby, or does not answer', requirement, async () => {

            const nowhere = `postgres://postgres:pw@127.0.0.1:${await freePort()}/${DATABASE}`;
            const odd = await startServer({ DATABASE_URL: pair.primary.url(DATABASE), DATABASE_REPLICA_URLS: `${pair.primary.url('postgres')},${nowhere}` });
            try {
                const [primaryListed, dead] = odd.replicas.status();
                expect(primaryListed).to.include({ role: 'primary', state: 'not-a-standby', inRotation: false });
                expect(dead).to.include({ role: 'unknown', state: 'unreachable', inRotation: false });
                expect(dead!.error).to.not.contain(':pw@');
                const res = await odd.inject('/resources');
                expect(res.statusCode).to.equal(200);
                expect(res.headers['x-read-from']).to.equal('primary');
                const health = await odd.inject('/health');
                expect((health.result as any).replicas.map((replica: any) => replica.state)).to.equal(['not-a-standby', 'unreachable']);
            }
            finally {
                await odd.stop();
            }
        });

        it('answers a read the replica fails from the primary', requirement, async () => {

            expect(server.replicas.status()[0]!.state).to.equal('in-rotation');
            const before = server.replicas.status()[0]!.fallbacks;
            // New connections refused, the open ones closed: the next read on the replica fails.
            await pair.replica.refuseConnections(DATABASE, true);
            try {
                await pair.replica.psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${APPLICATION}'`);
                const res = await server.inject('/resources?limit=5');
                expect(res.statusCode).to.equal(200);
                expect(res.headers['x-read-from']).to.equal('primary');
                expect((res.result as any).items.length).to.equal(5);
                expect(server.replicas.status()[0]!.fallbacks).to.equal(before + 1);
                expect(server.replicas.status()[0]!.inRotation).to.be.false();
            }
            finally {
                await pair.replica.refuseConnections(DATABASE, false);
            }

            await eventually(() => expect(server.replicas.status()[0]!.state).to.equal('in-rotation'), { timeoutMs: 30_000 });
        });

        it('falls back to the primary when the replica stops: no 5xx', requirement, async () => {

            const statuses: number[] = [];
            const readAll = async () => {

                const batch = await Promise.all(['/resources?limit=5', '/search?q=replicas', '/collections', '/resources?limit=5'].map((url) => server.inject(url)));
                statuses.push(...batch.map((res) => res.statusCode));
            };

            await readAll();
            const stopping = pair.replica.stop();
            // Reads while it goes away, and after.
            while (await Promise.race([stopping.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 50))]) === false) {
                await readAll();
            }

            for (let i = 0; i < 10; ++i) {
                await readAll();
            }

            await eventually(() => expect(server.replicas.status()[0]!.state).to.equal('unreachable'), { timeoutMs: 15_000 });
            const after = await server.inject('/resources');
            expect(after.headers['x-read-from']).to.equal('primary');
            await readAll();
            expect(statuses.filter((code) => code >= 500)).to.equal([]);
            expect(statuses.every((code) => code === 200)).to.be.true();

            // Back: it rejoins once it has caught up.
            await pair.replica.start();
            await eventually(() => expect(server.replicas.status()[0]!.state).to.equal('in-rotation'), { timeoutMs: 30_000 });
        });

        it('pointed at the standby only: writes and schema control answer 503 naming it, /health reports the role', requirement, async () => {

            // Demo data to load: the start says why it cannot, instead of failing on a lock or an INSERT.
            await pair.primary.psql('DELETE FROM resources', DATABASE);
            await pair.caughtUp();
            const error = await expect(startServer({ DATABASE_URL: pair.replica.url(DATABASE), SEED_DEMO: '1' })).to.reject() as Error;
            expect(error.message).to.contain('DATABASE_URL is a read-only standby');

            const standby = await startServer({ DATABASE_URL: pair.replica.url(DATABASE) });
            try {
                const list = await standby.inject('/resources');
                expect(list.statusCode).to.equal(200);

                const write = await standby.inject({ method: 'POST', url: '/resources', payload: newResource('Nowhere') });
                expect(write.statusCode).to.equal(503);
                expect((write.result as any).message).to.contain('read-only');
                expect((write.result as any).message).to.contain('standby');

                const schema = await standby.inject({ method: 'POST', url: '/migrator/schema/latest', headers: adminHeaders });
                expect(schema.statusCode).to.equal(503);
                expect((schema.result as any).message).to.contain('read-only standby');
                expect((schema.result as any).message).to.not.contain('migrate:unlock');

                const health = await standby.inject('/health');
                expect(health.statusCode).to.equal(503);
                expect((health.result as any).status).to.equal('degraded');
                expect((health.result as any).database).to.include({ reachable: true, role: 'standby' });
            }
            finally {
                await standby.stop();
            }
        });
    });
});
