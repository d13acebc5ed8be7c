// A pooled PostgreSQL connection lost in the middle of a request, for real:
// the backend is terminated (pg_terminate_backend, SQLSTATE 57P01) or the
// socket is cut under it (node-postgres: "Connection terminated
// unexpectedly", no SQLSTATE). Both answer 503; a write says its outcome is
// unknown, and a retry with the same Idempotency-Key creates it once.

import { once } from 'node:events';
import * as Net from 'node:net';

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import type { Knex } from 'knex';

import { OUTCOME_UNKNOWN } from '../../server/errors';
import { postgresOnly } from '../helpers/database';
import { createTestServer, type TestServer } from '../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

/** A TCP relay to PostgreSQL whose connections can be cut at once. */
async function startRelay(target: URL): Promise<{ port: number; cut(): void; close(): Promise<void> }> {

    const sockets = new Set<Net.Socket>();
    const server = Net.createServer((client) => {

        const upstream = Net.connect(Number(target.port || 5432), target.hostname);
        for (const socket of [client, upstream]) {
            sockets.add(socket);
            socket.on('close', () => sockets.delete(socket));
            socket.on('error', () => socket.destroy());
        }

        client.pipe(upstream);
        upstream.pipe(client);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const cut = () => {

        for (const socket of sockets) {
            socket.destroy();
        }
    };

    return {
        port: (server.address() as Net.AddressInfo).port,
        cut,
        async close() {

            cut();
            await new Promise((resolve) => server.close(resolve));
        }
    };
}

/** Waits for the backend of an INSERT into resources to be waiting on a lock. */
async function blockedInsert(knex: Knex): Promise<number> {

    for (let i = 0; i < 200; ++i) {
        const { rows } = await knex.raw(`
            SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%insert into "resources"%'`);
        if (rows.length) {
            return rows[0].pid;
        }

        await new Promise((resolve) => setTimeout(resolve, 25));
    }

    throw new Error('the INSERT never waited on the lock');
}

describe('postgres: a connection lost mid-request', () => {

    let t: TestServer;
    let relay: Awaited<ReturnType<typeof startRelay>>;
    // A connection of its own, outside the relay, that holds the lock.
    let direct: Knex;

    before(async () => {

        if (postgresOnly.skip) {
            return;
        }

        const probe = await createTestServer();
        const url = new URL(probe.database.url);
        await probe.server.stop();
        relay = await startRelay(url);
        const relayed = new URL(url.href);
        relayed.hostname = '127.0.0.1';
        relayed.port = String(relay.port);
        t = await createTestServer({ DATABASE_URL: relayed.href });
        const { default: Knex } = await import('knex');
        direct = Knex({ client: 'pg', connection: url.href, pool: { min: 0, max: 2 } });
    });

    after(async () => {

        if (postgresOnly.skip) {
            return;
        }

        await t.stop();
        await direct.destroy();
        await relay.close();
    });

    /** POSTs while resources is locked; `lose` ends the connection of the waiting INSERT. */
    const postWhileLocked = async (key: string, lose: (pid: number) => Promise<void>) => {

        const lock = await direct.transaction();
        try {
            await lock.raw('LOCK TABLE resources IN SHARE MODE');
            const pending = t.server.inject({ method: 'POST', url: '/resources', payload: { title: `Lost ${key}` }, headers: { 'idempotency-key': key } });
            await lose(await blockedInsert(direct));
            return await pending;
        }
        finally {
            await lock.rollback();
        }
    };

    const created = async (key: string) => Number((await direct('resources').where('title', `Lost ${key}`).count({ n: '*' }))[0]!.n);

    it('postgres only: a terminated backend during a POST answers 503 "outcome unknown", and the same key creates it once', postgresOnly, async () => {

        const res = await postWhileLocked('terminated', async (pid) => {

            await direct.raw('SELECT pg_terminate_backend(?)', [pid]);
        });
        expect(res.statusCode, res.payload).to.equal(503);
        expect(JSON.parse(res.payload).message).to.equal(OUTCOME_UNKNOWN);
        expect(res.headers['retry-after']).to.exist();

        const retry = await t.server.inject({ method: 'POST', url: '/resources', payload: { title: 'Lost terminated' }, headers: { 'idempotency-key': 'terminated' } });
        expect(retry.statusCode).to.equal(201);
        const again = await t.server.inject({ method: 'POST', url: '/resources', payload: { title: 'Lost terminated' }, headers: { 'idempotency-key': 'terminated' } });
        expect(again.headers['idempotent-replayed']).to.equal('true');
        expect(await created('terminated')).to.equal(1);
    });

    it('postgres only: a socket cut under a POST (no SQLSTATE) answers 503 "outcome unknown", never 500', postgresOnly, async () => {

        for (let round = 0; round < 4; ++round) {
            const key = `cut-${round}`;
            const res = await postWhileLocked(key, async () => {

                relay.cut();
            });
            expect(res.statusCode, res.payload).to.equal(503);
            expect(JSON.parse(res.payload).message).to.equal(OUTCOME_UNKNOWN);
            // The backend rolled back once it saw the client gone: no row, and the retry creates one.
            const retry = await t.server.inject({ method: 'POST', url: '/resources', payload: { title: `Lost ${key}` }, headers: { 'idempotency-key': key } });
            expect(retry.statusCode, retry.payload).to.equal(201);
            expect(await created(key)).to.equal(1);
        }
    });

    it('postgres only: a read whose connection is cut answers 503 saying to retry', postgresOnly, async () => {

        const lock = await direct.transaction();
        try {
            await lock.raw('LOCK TABLE resources IN ACCESS EXCLUSIVE MODE');
            const pending = t.server.inject('/resources');
            for (let i = 0; i < 200; ++i) {
                const { rows } = await direct.raw("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%select%resources%'");
                if (rows.length) {
                    break;
                }

                await new Promise((resolve) => setTimeout(resolve, 25));
            }

            relay.cut();
            const res = await pending;
            expect(res.statusCode).to.equal(503);
            expect(JSON.parse(res.payload).message).to.equal('The database connection was lost. Retry shortly.');
        }
        finally {
            await lock.rollback();
        }
    });
});
