import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import Knex, { type Knex as KnexType } from 'knex';

import { candidateFromQuery, maskLiterals } from '../../../plugins/monitoring/dialects/postgres-advisor';
import { isPostgres, postgresOnly, sqliteOnly } from '../../helpers/database';
import { eventually } from '../../helpers/monitoring';
import { pgClusterUnavailable, startPgCluster, type PgCluster } from '../../helpers/pg-cluster';
import { adminHeaders, createTestServer, type TestServer } from '../../helpers/server';
import { loginSession, type ConsoleSession } from '../console/helpers';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const advise = async (t: TestServer): Promise<Record<string, any>> => {

    const res = await t.server.inject({ url: '/monitoring/advisor?fresh=true', headers: adminHeaders });
    expect(res.statusCode, res.payload).to.equal(200);
    return res.result as Record<string, any>;
};

const act = (t: TestServer, payload: object, headers: Record<string, string> = adminHeaders) => t.server.inject({ method: 'POST', url: '/monitoring/advisor/actions', headers, payload });

describe('monitoring: database advisor', () => {

    describe('without pg_stat_statements or hypopg (the suite\'s database)', () => {

        let t: TestServer;

        before(async () => {

            t = await createTestServer();
        });

        after(async () => {

            await t.stop();
        });

        it('needs the admin token for the report, the actions and the panel', async () => {

            expect((await t.server.inject('/monitoring/advisor')).statusCode).to.equal(401);
            expect((await act(t, { action: 'analyze', table: 'resources', confirm: true }, {})).statusCode).to.equal(401);
            expect((await t.server.inject('/console/panels/advisor')).statusCode).to.equal(302);   // to the console login
        });

        it('postgres only: says how to enable query statistics and hypopg instead of failing', postgresOnly, async () => {

            const report = await advise(t);
            const pg = report.postgres;
            expect(pg.query_stats.state).to.equal('not-loaded');
            expect(pg.query_stats.hint).to.contain("shared_preload_libraries = 'pg_stat_statements'");
            expect(pg.query_stats.hint).to.contain('CREATE EXTENSION pg_stat_statements');
            expect(pg.indexes.hypopg).to.be.false();
            expect(pg.indexes.hypopg_hint).to.contain('CREATE EXTENSION hypopg');

            const reset = await act(t, { action: 'reset-query-stats', confirm: true });
            expect(reset.statusCode).to.equal(409);
            expect((reset.result as any).message).to.contain('shared_preload_libraries');
        });

        it('postgres only: reports wraparound ages consistent with age(datfrozenxid)', postgresOnly, async () => {

            const report = await advise(t);
            const { rows } = await t.server.knex.raw('SELECT age(datfrozenxid) AS age FROM pg_database WHERE datname = current_database()');
            const ours = report.postgres.maintenance.wraparound.find((row: any) => row.database === t.server.knex.client.config.connection.database
                || row.database === new URL(t.database.url).pathname.slice(1));
            expect(ours).to.exist();
            expect(ours.age).to.be.a.number();
            // Ages only grow; both reads are within a few transactions of each other.
            expect(Math.abs(ours.age - Number(rows[0].age))).to.be.below(1000);
            expect(ours.horizon_used).to.equal(Math.round((ours.age / 2 ** 31) * 1e6) / 1e6);
            expect(ours.warn).to.be.false();
            const table = report.postgres.maintenance.tables.find((row: any) => row.table === 'resources');
            expect(table.frozen_xid_age).to.be.a.number();
        });

        it('refuses an action without explicit confirmation, and an unknown table', async () => {

            const action = isPostgres ? { action: 'analyze', table: 'resources' } : { action: 'checkpoint' };
            expect((await act(t, action)).statusCode).to.equal(400);
            expect((await act(t, { ...action, confirm: false })).statusCode).to.equal(400);
            if (isPostgres) {
                const res = await act(t, { action: 'analyze', table: 'no_such_table', confirm: true });
                expect(res.statusCode).to.equal(400);
                expect((res.result as any).message).to.contain('one of:');
                const ok = await act(t, { action: 'analyze', table: 'resources', confirm: true });
                expect(ok.statusCode, ok.payload).to.equal(200);
                expect((ok.result as any).message).to.equal('Analyzed resources');
                const analyzed = await advise(t);
                expect(analyzed.postgres.maintenance.tables.find((row: any) => row.table === 'resources').last_analyze).to.not.be.null();
            }
        });

        it('sqlite only: WAL figures move after writes and a checkpoint', sqliteOnly, async () => {

            await t.server.knex('users').insert(Array.from({ length: 400 }, (_, i) => ({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, email: `u${i}@example.org`, display_name: 'x'.repeat(190), role: 'reader' })));
            const first = (await advise(t)).sqlite;
            expect(first.wal.journal_mode).to.equal('wal');
            expect(Number(first.wal.size_bytes)).to.be.above(0);
            expect(Number(first.wal.checkpoint_threshold_bytes)).to.be.above(0);
            expect(first.wal.last_checkpoint).to.be.null();

            const res = await act(t, { action: 'checkpoint', confirm: true });
            expect(res.statusCode, res.payload).to.equal(200);
            const second = (await advise(t)).sqlite;
            expect(Number(second.wal.last_checkpoint.log_frames)).to.be.above(0);
            expect(second.wal.last_checkpoint.checkpointed_frames).to.equal(second.wal.last_checkpoint.log_frames);
            expect(Number(second.freelist.page_count)).to.be.above(0);
        });

        it('sqlite only: runs an integrity check as a job and reports it', sqliteOnly, async () => {

            const started = await act(t, { action: 'integrity-check', mode: 'full', confirm: true });
            expect(started.statusCode, started.payload).to.equal(200);
            const jobId = /as job ([0-9a-f-]{36})$/.exec((started.result as { message: string }).message)?.[1];
            expect(jobId).to.exist();
            const done = await eventually(async () => {

                const integrity = (await advise(t)).sqlite.integrity;
                return integrity.state === 'running' ? undefined : integrity;
            }, 10_000, 'the integrity check to finish');
            expect(done.state).to.equal('ok');
            expect(done.mode).to.equal('full');
            expect(done.job_id).to.equal(jobId);
            expect(done.problems).to.equal([]);
        });

        it('renders the console panel and carries out a confirmed action with the session and CSRF token', async () => {

            const login: ConsoleSession = await loginSession(t.server);
            const panel = await t.server.inject({ url: '/console/panels/advisor', headers: { cookie: login.cookie, 'hx-request': 'true' } });
            expect(panel.statusCode).to.equal(200);
            expect(panel.payload).to.contain(isPostgres ? 'Transaction-ID wraparound' : 'Write-ahead log');
            expect(panel.payload).to.contain('hx-confirm=');

            const form = isPostgres ? { action: 'analyze', table: 'resources', confirm: 'yes' } : { action: 'checkpoint', confirm: 'yes' };
            const forged = await t.server.inject({ method: 'POST', url: '/console/panels/advisor/action', headers: { cookie: login.cookie }, payload: form });
            expect(forged.statusCode).to.equal(403);
            const done = await t.server.inject({ method: 'POST', url: '/console/panels/advisor/action', headers: { cookie: login.cookie, 'x-csrf-token': login.crumb, 'hx-request': 'true' }, payload: form });
            expect(done.statusCode, done.payload).to.equal(200);
            expect(done.payload).to.contain('alert-success');
            const unconfirmed = await t.server.inject({ method: 'POST', url: '/console/panels/advisor/action', headers: { cookie: login.cookie, 'x-csrf-token': login.crumb, 'hx-request': 'true' }, payload: { ...form, confirm: '' } });
            expect(unconfirmed.statusCode).to.equal(400);
            expect(unconfirmed.payload).to.contain('alert-error');
        });
    });

    const unavailable = pgClusterUnavailable(['hypopg']);
    describe(`postgres only: with pg_stat_statements and hypopg on a server of its own${unavailable ? ` (skipped: ${unavailable})` : ''}`, { skip: !isPostgres || Boolean(unavailable) }, () => {

        let cluster: PgCluster;
        let t: TestServer;
        let other: KnexType;

        before({ timeout: 120_000 }, async () => {

            cluster = await startPgCluster({ shared_preload_libraries: "'pg_stat_statements'", 'pg_stat_statements.track': "'all'" });
            await cluster.createDatabase('advisor');
            await cluster.psql('CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg;', 'advisor');
            t = await createTestServer({ DATABASE_URL: cluster.url('advisor') });
            other = Knex({ client: 'pg', connection: cluster.url('advisor'), pool: { min: 0, max: 4 } });
        });

        after(async () => {

            await other?.destroy();
            await t?.stop();
            await cluster?.stop();
        });

        it('shows a statement in query statistics after it runs, and resets them', async () => {

            // From a clean slate, so the probe is not crowded out by the migrations' statements.
            expect((await act(t, { action: 'reset-query-stats', confirm: true })).statusCode).to.equal(200);
            await other.raw("SELECT count(*) FROM resources WHERE title = 'advisor-probe-statement'");
            const stats = await eventually(async () => {

                const report = (await advise(t)).postgres.query_stats;
                return report.statements.some((row: any) => /FROM resources WHERE title = \$1/.test(row.query)) ? report : undefined;
            }, 10_000, 'statements in pg_stat_statements');
            expect(stats.state).to.equal('ready');
            const probe = stats.statements.find((row: any) => /FROM resources WHERE title = \$1/.test(row.query));
            expect(probe.query).to.not.contain('advisor-probe-statement');
            expect(probe, JSON.stringify(stats.statements.map((row: any) => row.query))).to.exist();
            expect(Number(probe.calls)).to.be.at.least(1);

            const reset = await act(t, { action: 'reset-query-stats', confirm: true });
            expect(reset.statusCode, reset.payload).to.equal(200);
            const cleared = (await advise(t)).postgres.query_stats;
            expect(cleared.statements.find((row: any) => /FROM resources WHERE title = \$1/.test(row.query))).to.not.exist();
        });

        it('lists an index never used as unused, a duplicate as duplicate, and leaves keys alone', async () => {

            await other.raw('CREATE INDEX advisor_unused ON collections (description)');
            await other.raw('CREATE INDEX advisor_dup_a ON annotations (color)');
            await other.raw('CREATE INDEX advisor_dup_b ON annotations (color)');
            await other.raw('CREATE INDEX advisor_prefix ON annotations (color, is_shared)');
            const indexes = (await advise(t)).postgres.indexes;
            const unused = indexes.unused.map((row: any) => row.index);
            expect(unused).to.include('advisor_unused');
            expect(unused.some((name: string) => name.endsWith('_pkey'))).to.be.false();

            const duplicates = indexes.duplicates.map((row: any) => `${row.index}<${row.covered_by}:${row.kind}`);
            expect(duplicates).to.include('advisor_dup_b<advisor_dup_a:identical');
            expect(duplicates).to.include('advisor_dup_a<advisor_prefix:prefix');
            expect(duplicates.some((entry: string) => entry.startsWith('advisor_dup_a<advisor_dup_b'))).to.be.false();
            expect(indexes.duplicates.every((row: any) => !row.index.endsWith('_pkey'))).to.be.true();
            await other.raw('DROP INDEX advisor_unused, advisor_dup_a, advisor_dup_b, advisor_prefix');
        });

        it('suggests an index for a large table read by sequential scans, checked with hypopg', { timeout: 60_000 }, async () => {

            await other.raw('CREATE TABLE advisor_wide (id serial PRIMARY KEY, code text NOT NULL, payload text)');
            await other.raw("INSERT INTO advisor_wide (code, payload) SELECT 'c' || g, repeat('x', 50) FROM generate_series(1, 20000) g");
            await other.raw('ANALYZE advisor_wide');
            for (let i = 0; i < 5; ++i) {
                await other('advisor_wide').where({ code: `c${i * 7}` }).select('id');
            }

            // Backends report their scan counts to the statistics within seconds, not at once.
            const indexes = await eventually(async () => {

                const advice = (await advise(t)).postgres.indexes;
                return advice.suggestions.some((row: any) => row.table === 'advisor_wide') ? advice : undefined;
            }, 20_000, 'a suggestion for advisor_wide');
            expect(indexes.hypopg).to.be.true();
            expect(indexes.seq_scan_tables.map((row: any) => row.table)).to.include('advisor_wide');
            const suggestion = indexes.suggestions.find((row: any) => row.table === 'advisor_wide');
            expect(suggestion, JSON.stringify(indexes.suggestions)).to.exist();
            expect(suggestion.columns).to.equal(['code']);
            expect(suggestion.verified).to.be.true();
            expect(Number(suggestion.cost_after)).to.be.below(suggestion.cost_before / 10);
            await other.raw('DROP TABLE advisor_wide');
        });

        it('shows a blocked query with its blocker, the blocker idle in transaction, and terminates it', { timeout: 30_000 }, async () => {

            const [{ id }] = await other('users').insert({ email: 'blocker@example.org', display_name: 'b', role: 'reader' }).returning('id');
            const holder = await other.transaction();
            await holder('users').where({ id }).update({ display_name: 'held' });
            const { rows: [{ pid: holderPid }] } = await holder.raw('SELECT pg_backend_pid() AS pid');
            const waiting = other('users').where({ id }).update({ display_name: 'waiting' }).catch((error) => error);

            const sessions = await eventually(async () => {

                const report = await advise(t);
                return report.postgres.sessions.blocked.length ? report.postgres.sessions : undefined;
            }, 10_000, 'a blocked session in the report');

            const blocked = sessions.blocked[0];
            expect(blocked.blocked_by).to.equal([holderPid]);
            expect(blocked.query).to.contain('update "users"');
            expect(blocked.query).to.not.contain('waiting');
            expect(sessions.blockers.map((row: any) => row.pid)).to.equal([holderPid]);
            expect(sessions.idle_in_transaction.map((row: any) => row.pid)).to.include(holderPid);

            // The bearer route needs the confirmation; the console route needs the CSRF token too.
            expect((await act(t, { action: 'terminate', pid: holderPid })).statusCode).to.equal(400);
            const login = await loginSession(t.server);
            const forged = await t.server.inject({ method: 'POST', url: '/console/panels/advisor/action', headers: { cookie: login.cookie }, payload: { action: 'terminate', pid: holderPid, confirm: 'yes' } });
            expect(forged.statusCode).to.equal(403);

            const res = await act(t, { action: 'terminate', pid: holderPid, confirm: true });
            expect(res.statusCode, res.payload).to.equal(200);
            expect(await waiting).to.equal(1);
            await holder.rollback().catch(() => {});

            const gone = await act(t, { action: 'cancel', pid: holderPid, confirm: true });
            expect(gone.statusCode).to.equal(404);
        });

        it('cancels a running query', { timeout: 30_000 }, async () => {

            const sleeping = other.raw('SELECT pg_sleep(20)').then(() => null, (error) => error);
            const pid = await eventually(async () => {

                const { rows } = await t.server.knex.raw("SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(20)%' AND state = 'active'");
                return rows[0]?.pid as number | undefined;
            }, 10_000, 'the sleeping query');
            const res = await act(t, { action: 'cancel', pid, confirm: true });
            expect(res.statusCode, res.payload).to.equal(200);
            const error = await sleeping;
            expect(error?.code).to.equal('57014');
        });
    });

    describe('statement helpers', () => {

        it('masks the values a statement carries inline', () => {

            expect(maskLiterals("select * from t where a = 'secret' and b = 42 and c = $1 and d = 1.5e3")).to.equal('select * from t where a = ? and b = ? and c = $1 and d = ?');
            expect(maskLiterals("insert into t values ($$dollar body$$, E'esc\\'aped', 'it''s')")).to.equal('insert into t values (?, ?, ?)');
            expect(maskLiterals('select col1, "t2"."x3" from t4')).to.equal('select col1, "t2"."x3" from t4');
        });

        it('finds the columns a statement compares with parameters', () => {

            expect(candidateFromQuery('select "id" from "advisor_wide" where "code" = $1', ['advisor_wide'])).to.equal({ table: 'advisor_wide', columns: ['code'], query: 'select "id" from "advisor_wide" where "code" = $1' });
            expect(candidateFromQuery('SELECT * FROM resources r WHERE r.owner_id = $1 AND r.type = $2 ORDER BY created_at LIMIT $3', ['resources'])!.columns).to.equal(['owner_id', 'type']);
            expect(candidateFromQuery('select * from other where a = $1', ['resources'])).to.be.null();
            expect(candidateFromQuery('select * from resources join users on users.id = resources.owner_id where users.email = $1', ['resources'])).to.be.null();
            expect(candidateFromQuery('select * from resources', ['resources'])).to.be.null();
        });
    });
});
