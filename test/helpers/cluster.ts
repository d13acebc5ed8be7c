// A scratch PostgreSQL cluster of its own (initdb + pg_ctl in a temporary
// directory, on a free port, as the postgres OS user), for tests that need a
// server the shared one must not become: here, a read-only standby.

import { execFile } from 'node:child_process';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import { promisify } from 'node:util';

import { freePort } from './ports';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';

export interface ScratchCluster {
    url: string;
    stop(): Promise<void>;
}

/** Runs a server binary as the postgres OS user when the tests run as root. */
function asPostgres(tool: string, args: string[]) {

    const command = Path.join(BIN, tool);
    return process.getuid?.() === 0 ?
        run('runuser', ['-u', 'postgres', '--', command, ...args]) :
        run(command, args);
}

/** A new cluster started in standby mode with no primary: it accepts read-only connections only. */
export async function startStandbyCluster(): Promise<ScratchCluster> {

    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'na-standby-'));
    const data = Path.join(dir, 'data');
    if (process.getuid?.() === 0) {
        await run('chown', ['postgres:', dir]);
    }

    const stop = async () => {

        await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
        Fs.rmSync(dir, { recursive: true, force: true });
    };

    try {
        await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions']);
        // standby.signal and no WAL source: it recovers to the initdb
        // checkpoint and then serves read-only connections, waiting for WAL.
        Fs.writeFileSync(Path.join(data, 'standby.signal'), '');
        const port = await freePort();
        const log = Path.join(dir, 'server.log');
        await asPostgres('pg_ctl', ['-D', data, '-l', log, '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']).catch((error: Error) => {

            throw new Error(`${error.message}\n${Fs.existsSync(log) ? Fs.readFileSync(log, 'utf8') : ''}`);
        });
        return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop };
    }
    catch (error) {
        await stop();
        throw error;
    }
}
