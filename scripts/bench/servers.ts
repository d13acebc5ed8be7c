// What the benchmark scripts share: servers in processes of their own
// (serve.ts, ready when it prints "ready <port>") and DDL about a scratch
// PostgreSQL database from the server's maintenance database.

import { spawn, type ChildProcess } from 'node:child_process';
import Path from 'node:path';
import Knex, { type Knex as KnexType } from 'knex';

const SERVE = Path.join(__dirname, 'serve.ts');

export interface Running {
    name: string;
    port: number;
    child: ChildProcess;
}

/** Starts `serve.ts <kind> <port> …args` and resolves once it listens (60 s at most). */
export function startServe(name: string, kind: string, port: number, args: readonly string[] = []): Promise<Running> {

    const child = spawn(process.execPath, ['--import', 'tsx', SERVE, kind, String(port), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new Promise((resolve, reject) => {

        let output = '';
        const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s`)), 60_000);
        child.stdout!.on('data', (chunk) => {

            output += String(chunk);
            if (output.includes(`ready ${port}`)) {
                clearTimeout(timer);
                resolve({ name, port, child });
            }
        });
        child.once('exit', (code) => {

            clearTimeout(timer);
            reject(new Error(`${name} exited with code ${code}`));
        });
    });
}

/** Stops a server started by startServe and waits until it has exited. */
export async function stopServe(server: Running): Promise<void> {

    if (server.child.exitCode !== null) {
        return;
    }

    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    await exited;
}

/** Runs DDL about the database of `url` from the server's maintenance database. */
export async function onMaintenanceDatabase(url: string, work: (admin: KnexType, name: string) => Promise<void>): Promise<void> {

    const parsed = new URL(url);
    const name = decodeURIComponent(parsed.pathname.slice(1));
    parsed.pathname = '/postgres';
    const admin = Knex({ client: 'pg', connection: parsed.toString(), pool: { min: 0, max: 1 } });
    try {
        await work(admin, name);
    }
    finally {
        await admin.destroy();
    }
}
