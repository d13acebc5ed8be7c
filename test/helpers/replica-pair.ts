// A primary and a streaming hot standby of the test's own: initdb into a
// temporary directory (wal_level replica), pg_basebackup -R from it, both on
// free ports, both run as the postgres OS user when the tests run as root.
// The machine's main cluster is never touched. Slow (a few seconds): make
// one per test file and stop it in `after`.

import { execFile } from 'node:child_process';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import { promisify } from 'node:util';

import { asPostgres } from './pg-cluster';
import { freePort } from './ports';

const run = promisify(execFile);

export interface PairMember {
    port: number;
    url(database?: string): string;
    psql(sql: string, database?: string): Promise<string>;
}

export interface ReplicaPair {
    primary: PairMember;
    replica: PairMember & {
        /** pg_ctl stop (fast): the server goes away under open connections. */
        stop(): Promise<void>;
        /**
         * Refuses (or accepts again) new TCP connections to `database` (pg_hba
         * reject + reload); connections over the socket directory still work.
         */
        refuseConnections(database: string, refuse: boolean): Promise<void>;
        start(): Promise<void>;
    };
    /** Waits until the replica has replayed everything the primary has written so far. */
    caughtUp(timeoutMs?: number): Promise<void>;
    /** Stops both servers and removes their directories. */
    stop(): Promise<void>;
}

function member(dir: string, port: number): PairMember {

    return {
        port,
        url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
        psql: (sql, database = 'postgres') => asPostgres('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(port), '-d', database, '-c', sql])
            .then((out) => out.trim())
    };
}

export async function startReplicaPair(): Promise<ReplicaPair> {

    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'na-replica-pair-'));
    if (process.getuid?.() === 0) {
        await run('chown', ['-R', 'postgres:postgres', dir]);
    }

    const primaryData = Path.join(dir, 'primary');
    const replicaData = Path.join(dir, 'replica');
    const primaryPort = await freePort();
    const replicaPort = await freePort();
    const settings = (port: number) => Object.entries({
        port: String(port),
        listen_addresses: "'127.0.0.1'",
        unix_socket_directories: `'${dir}'`,
        fsync: 'off',
        max_connections: '60',
        shared_buffers: "'32MB'",
        wal_level: 'replica',
        max_wal_senders: '5',
        hot_standby: 'on',
        // Reports its replay position quickly, so tests do not wait for it.
        wal_receiver_status_interval: "'1s'"
    }).map(([key, value]) => `${key} = ${value}\n`).join('');

    const stopAll = async () => {

        for (const data of [replicaData, primaryData]) {
            if (Fs.existsSync(Path.join(data, 'postmaster.pid'))) {
                await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
            }
        }

        Fs.rmSync(dir, { recursive: true, force: true });
    };

    const startReplica = () => asPostgres('pg_ctl', ['-D', replicaData, '-l', Path.join(dir, 'replica.log'), '-w', '-t', '60', 'start']);
    try {
        await asPostgres('initdb', ['-D', primaryData, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C.UTF-8']);
        Fs.appendFileSync(Path.join(primaryData, 'postgresql.conf'), settings(primaryPort));
        await asPostgres('pg_ctl', ['-D', primaryData, '-l', Path.join(dir, 'primary.log'), '-w', '-t', '60', 'start']);
        // -R writes standby.signal and primary_conninfo: a streaming standby.
        await asPostgres('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replicaData, '-R', '--checkpoint=fast', '--wal-method=stream']);
        Fs.appendFileSync(Path.join(replicaData, 'postgresql.conf'), settings(replicaPort));
        await startReplica();
    }
    catch (error) {
        const logs = ['primary.log', 'replica.log'].map((name) => Path.join(dir, name)).filter((file) => Fs.existsSync(file)).map((file) => Fs.readFileSync(file, 'utf8'));
        await stopAll();
        throw new Error(`${(error as Error).message}\n${logs.join('\n')}`);
    }

    const primary = member(dir, primaryPort);
    const replica = member(dir, replicaPort);
    return {
        primary,
        replica: {
            ...replica,
            async stop() {

                await asPostgres('pg_ctl', ['-D', replicaData, '-m', 'fast', '-w', 'stop']);
            },
            async start() {

                await startReplica();
            },
            async refuseConnections(database, refuse) {

                const hba = Path.join(replicaData, 'pg_hba.conf');
                const rule = `host ${database} all 127.0.0.1/32 reject\n`;
                const rest = Fs.readFileSync(hba, 'utf8').replace(rule, '');
                Fs.writeFileSync(hba, refuse ? rule + rest : rest);
                await asPostgres('pg_ctl', ['-D', replicaData, 'reload']);
            }
        },
        async caughtUp(timeoutMs = 30_000) {

            const target = await primary.psql('SELECT pg_current_wal_lsn()');
            const deadline = Date.now() + timeoutMs;
            while (await replica.psql(`SELECT pg_last_wal_replay_lsn() >= '${target}'::pg_lsn`) !== 't') {
                if (Date.now() > deadline) {
                    throw new Error(`the replica did not replay up to ${target} within ${timeoutMs} ms`);
                }

                await new Promise((resolve) => setTimeout(resolve, 50));
            }
        },
        stop: stopAll
    };
}
