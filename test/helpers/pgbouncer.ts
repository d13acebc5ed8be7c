// A real PgBouncer for tests: docs/pgbouncer.ini (the configuration README
// documents) with only its "site" lines replaced, run from a temp directory
// on a free port, stopped by PID.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import Fs from 'node:fs';
import Os from 'node:os';
import Path from 'node:path';
import Pg from 'pg';

import { freePort } from './ports';

export const PGBOUNCER_INI = Path.resolve(__dirname, '..', '..', 'docs', 'pgbouncer.ini');

/** The pgbouncer executable, or null when it is not installed. */
export function pgbouncerBinary(): string | null {

    for (const candidate of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer']) {
        if (Fs.existsSync(candidate)) {
            return candidate;
        }
    }

    const found = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' });
    return found.status === 0 ? found.stdout.trim() : null;
}

export interface PgBouncer {
    port: number;
    /** The configuration file it runs with. */
    iniPath: string;
    /** The same database URL, through PgBouncer. */
    url(databaseUrl: string): string;
    /** A command on PgBouncer's admin console (SHOW POOLS, RECONNECT …). */
    admin(command: string): Promise<Array<Record<string, unknown>>>;
    /** The log so far (for failure messages). */
    log(): string;
    stop(): Promise<void>;
}

export interface PgBouncerOptions {
    /** The PostgreSQL server behind it (host, port and user are taken from it). */
    serverUrl: string;
    /** Overrides of docs/pgbouncer.ini settings (for example a small pool). */
    settings?: Record<string, string | number>;
}

/** docs/pgbouncer.ini with the given settings replaced (each must exist in the file). */
export function renderIni(template: string, databases: string, settings: Record<string, string | number>): string {

    const remaining = new Set(Object.keys(settings));
    const lines = template.split('\n').map((line) => {

        if (/^\* = /.test(line)) {
            return `* = ${databases}`;
        }

        const key = /^([a-z_]+) =/.exec(line)?.[1];
        if (key && key in settings) {
            remaining.delete(key);
            return `${key} = ${settings[key]}`;
        }

        return line;
    });
    const extra = [...remaining].map((key) => `${key} = ${settings[key]}`);
    return [...lines, ...extra, ''].join('\n');
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {

    const binary = pgbouncerBinary();
    if (!binary) {
        throw new Error('pgbouncer is not installed (apt-get install -y pgbouncer)');
    }

    const server = new URL(options.serverUrl);
    const user = decodeURIComponent(server.username || 'postgres');
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'neo-alexandria-pgbouncer-'));
    const port = await freePort();
    const iniPath = Path.join(dir, 'pgbouncer.ini');
    const logPath = Path.join(dir, 'pgbouncer.log');
    Fs.writeFileSync(Path.join(dir, 'userlist.txt'), `"${user}" ""\n`);

    const settings: Record<string, string | number> = {
        listen_addr: '127.0.0.1',
        listen_port: port,
        auth_type: 'trust',
        auth_file: Path.join(dir, 'userlist.txt'),
        logfile: logPath,
        pidfile: Path.join(dir, 'pgbouncer.pid'),
        unix_socket_dir: '',
        admin_users: user,
        ...options.settings
    };
    // PgBouncer refuses to run as root; it drops to this user itself.
    if (process.getuid?.() === 0) {
        settings.user = 'postgres';
        Fs.chmodSync(dir, 0o777);
    }

    const databases = `host=${server.hostname || '127.0.0.1'} port=${server.port || 5432}`;
    Fs.writeFileSync(iniPath, renderIni(Fs.readFileSync(PGBOUNCER_INI, 'utf8'), databases, settings));
    Fs.chmodSync(iniPath, 0o644);

    const child: ChildProcess = spawn(binary, [iniPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk) => {

        stderr += String(chunk);
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const readLog = () => `${stderr}${Fs.existsSync(logPath) ? Fs.readFileSync(logPath, 'utf8') : ''}`;

    const url = (databaseUrl: string) => {

        const through = new URL(databaseUrl);
        through.hostname = '127.0.0.1';
        through.port = String(port);
        return through.toString();
    };

    const admin = async (command: string) => {

        const client = new Pg.Client({ connectionString: `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/pgbouncer` });
        await client.connect();
        try {
            // The admin console speaks the simple protocol only.
            return (await client.query(command)).rows;
        }
        finally {
            await client.end();
        }
    };

    const stop = async () => {

        if (child.exitCode === null && child.signalCode === null) {
            process.kill(child.pid!, 'SIGINT');
            await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
            if (child.exitCode === null && child.signalCode === null) {
                process.kill(child.pid!, 'SIGKILL');
                await exited;
            }
        }

        Fs.rmSync(dir, { recursive: true, force: true });
    };

    // Ready when the admin console answers.
    const deadline = Date.now() + 10_000;
    for (;;) {
        try {
            await admin('SHOW VERSION');
            break;
        }
        catch (error) {
            if (child.exitCode !== null || Date.now() > deadline) {
                await stop();
                throw new Error(`pgbouncer did not start: ${(error as Error).message}\n${readLog()}`);
            }

            await new Promise((resolve) => setTimeout(resolve, 100));
        }
    }

    return { port, iniPath, url, admin, log: readLog, stop };
}
