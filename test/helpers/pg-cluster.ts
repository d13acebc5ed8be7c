// A PostgreSQL server of a test's own: initdb into a temporary directory, start
// on a free port with the settings the test needs (shared_preload_libraries,
// …), stop and remove it afterwards. The machine's main cluster is never
// reconfigured. Runs the server as the postgres user when the tests run as root.

import { execFile } from 'node:child_process';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import { promisify } from 'node:util';

import { testsRunInCi } from '../../server/config';
import { freePort } from './ports';

const run = promisify(execFile);

export const PG_BIN_DIR = '/usr/lib/postgresql/15/bin';

const EXTENSION_DIR = '/usr/share/postgresql/15/extension';

/**
 * Why a cluster of its own with these extensions cannot be made here, or null
 * when it can. CI installs them all (.ci/run), so there a missing piece fails
 * the tests instead of skipping them.
 */
export function pgClusterUnavailable(extensions: readonly string[] = []): string | null {

    if (testsRunInCi()) {
        return null;
    }

    if (!Fs.existsSync(Path.join(PG_BIN_DIR, 'initdb'))) {
        return `no initdb in ${PG_BIN_DIR}`;
    }

    const missing = extensions.filter((name) => !Fs.existsSync(Path.join(EXTENSION_DIR, `${name}.control`)));
    return missing.length ? `extension ${missing.join(', ')} not installed (Debian: postgresql-15-${missing[0]})` : null;
}

export interface PgCluster {
    port: number;
    /** A URL for a database of this server (created with createDatabase first, or 'postgres'). */
    url(database?: string): string;
    createDatabase(name: string): Promise<void>;
    psql(sql: string, database?: string): Promise<string>;
    stop(): Promise<void>;
}

/** Runs a PostgreSQL binary, as the postgres user when we are root. */
export async function asPostgres(binary: string, args: string[]): Promise<string> {

    const file = Path.join(PG_BIN_DIR, binary);
    const root = process.getuid?.() === 0;
    const { stdout } = root
        ? await run('runuser', ['-u', 'postgres', '--', file, ...args], { maxBuffer: 16 * 1024 * 1024 })
        : await run(file, args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
}

export async function startPgCluster(settings: Record<string, string> = {}): Promise<PgCluster> {

    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'na-pg-cluster-'));
    if (process.getuid?.() === 0) {
        await run('chown', ['-R', 'postgres:postgres', dir]);
    }

    const data = Path.join(dir, 'data');
    const port = await freePort();
    await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C.UTF-8']);
    const conf = {
        port: String(port),
        listen_addresses: "'127.0.0.1'",
        unix_socket_directories: `'${dir}'`,
        fsync: 'off',
        max_connections: '40',
        shared_buffers: "'32MB'",
        ...settings
    };
    Fs.appendFileSync(Path.join(data, 'postgresql.conf'), Object.entries(conf).map(([key, value]) => `${key} = ${value}\n`).join(''));
    await asPostgres('pg_ctl', ['-D', data, '-l', Path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);

    const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
    const psql = (sql: string, database = 'postgres') => asPostgres('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-d', database, '-c', sql]);

    return {
        port,
        url,
        psql,
        async createDatabase(name: string) {

            await psql(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
        },
        async stop() {

            await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
            Fs.rmSync(dir, { recursive: true, force: true });
        }
    };
}
