// A PostgreSQL server of a test's own (initdb + pg_ctl in a temporary
// directory, on a free port), for what the shared server must never see:
// restarts. Runs as the postgres OS user when the tests run as root.

import { execFile } from 'node:child_process';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import { promisify } from 'node:util';

import { freePort } from './ports';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';

export interface OwnPostgres {
    /** postgres://postgres@127.0.0.1:PORT/postgres */
    url: string;
    restart(): Promise<void>;
    /** Stops the server, keeping its data; start() brings it back. */
    halt(): Promise<void>;
    start(): Promise<void>;
    /** Stops the server and removes its data. */
    stop(): Promise<void>;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {

    const asRoot = process.getuid?.() === 0;
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'na-own-pg-'));
    const data = Path.join(dir, 'data');
    if (asRoot) {
        await run('chown', ['postgres:postgres', dir]);
    }

    const pg = (command: string, args: string[]) => (asRoot ?
        run('runuser', ['-u', 'postgres', '--', Path.join(BIN, command), ...args]) :
        run(Path.join(BIN, command), args));

    await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    const port = await freePort();
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c max_connections=40`;
    const ctl = (action: string) => pg('pg_ctl', ['-D', data, '-o', options, '-l', Path.join(dir, 'log'), '-w', '-m', 'fast', action]);
    await ctl('start');

    return {
        url: `postgres://postgres@127.0.0.1:${port}/postgres`,
        restart: async () => {

            await ctl('restart');
        },
        halt: async () => {

            await ctl('stop');
        },
        start: async () => {

            await ctl('start');
        },
        stop: async () => {

            await ctl('stop').catch(() => {});
            Fs.rmSync(dir, { recursive: true, force: true });
        }
    };
}
