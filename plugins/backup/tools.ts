// Runs the PostgreSQL client tools (pg_dump, pg_restore, psql) as child
// processes: arguments as an array (no shell), credentials only in the
// child's environment, stderr kept for the error message.

import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

import { BackupError } from './errors';

export interface ToolEnvironment {
    /** The PATH the tools are looked up on (BACKUP_PG_BIN_DIR first). */
    path: string;
    /** The password for the connection, passed as PGPASSWORD. */
    password?: string | null;
}

export interface RunOptions {
    env: ToolEnvironment;
    signal?: AbortSignal;
    /** Piped into the tool's stdin. */
    stdin?: Readable;
    /** Receives the tool's stdout (otherwise it is collected). */
    stdout?: Writable;
    /** Called for every complete stderr line (pg_dump --verbose progress). */
    onStderrLine?: (line: string) => void;
}

export interface RunResult {
    stdout: string;
    stderr: string;
}

const INSTALL_HINT = 'Install the PostgreSQL client tools of the server\'s major version, or set BACKUP_PG_BIN_DIR to their directory (for example /usr/lib/postgresql/15/bin).';

export async function runTool(tool: string, args: readonly string[], options: RunOptions): Promise<RunResult> {

    // A minimal environment: the tools need PATH and the password, nothing
    // else from the server's environment should reach them.
    const env: Record<string, string> = { PATH: options.env.path, LC_ALL: 'C', PGCONNECT_TIMEOUT: '10' };
    if (options.env.password) {
        env.PGPASSWORD = options.env.password;
    }

    return await new Promise<RunResult>((resolve, reject) => {

        const child = spawn(tool, args, { env, signal: options.signal, stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        let pending = '';

        if (options.stdout) {
            child.stdout!.pipe(options.stdout, { end: false });
        }
        else {
            child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {

                stdout += chunk;
            });
        }

        child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {

            stderr += chunk;
            if (stderr.length > 64_000) {
                stderr = stderr.slice(-64_000);
            }

            if (options.onStderrLine) {
                pending += chunk;
                const lines = pending.split('\n');
                pending = lines.pop()!;
                lines.forEach((line) => options.onStderrLine!(line));
            }
        });

        if (options.stdin) {
            options.stdin.on('error', (error) => {

                child.kill();
                reject(new BackupError('failed', `${tool}: cannot read the input: ${error.message}`));
            });
            child.stdin!.on('error', () => {});        // EPIPE when the tool exits early; its exit code tells why.
            options.stdin.pipe(child.stdin!);
        }

        child.on('error', (error: NodeJS.ErrnoException) => {

            if (error.code === 'ENOENT') {
                reject(new BackupError('tool', `${tool} was not found on the PATH. ${INSTALL_HINT}`));
                return;
            }

            if (error.name === 'AbortError') {
                reject(new BackupError('failed', `${tool} was stopped because the server is shutting down`));
                return;
            }

            reject(new BackupError('failed', `${tool} could not run: ${error.message}`));
        });

        child.on('close', (code, signal) => {

            if (code === 0) {
                resolve({ stdout, stderr });
                return;
            }

            reject(new BackupError('failed', `${tool} failed (${signal ? `signal ${signal}` : `exit code ${code}`}): ${summarise(stderr)}`));
        });
    });
}

/** The first meaningful error lines of a tool's stderr. */
function summarise(stderr: string): string {

    const lines = stderr.split('\n').map((line) => line.trim()).filter(Boolean);
    const errors = lines.filter((line) => /error|fatal|could not|failed|aborting|no space|permission/i.test(line));
    return (errors.length ? errors : lines).slice(0, 4).join(' | ') || 'no output';
}

/** The major version a tool reports (`pg_dump (PostgreSQL) 15.20` → 15). */
export async function toolMajorVersion(tool: string, env: ToolEnvironment): Promise<number> {

    const { stdout } = await runTool(tool, ['--version'], { env });
    const match = /(\d+)(?:\.\d+)?/.exec(stdout);
    if (!match) {
        throw new BackupError('tool', `${tool} --version printed no version: ${stdout.trim()}`);
    }

    return Number(match[1]);
}

export { INSTALL_HINT };
