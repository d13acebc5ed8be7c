// Real server processes (`node --import tsx server/index.ts`, as `npm start`
// runs it) for the tests of several instances on one database.

import { spawn, type ChildProcess } from 'node:child_process';
import Path from 'node:path';

const root = Path.resolve(__dirname, '..', '..');

export interface Instance {
    /** http://host:port once it listens. */
    uri: string;
    child: ChildProcess;
    output(): string;
    /** SIGTERM and wait for the exit (SIGKILL after the timeout). */
    stop(timeoutMs?: number): Promise<number | null>;
    /** kill -9: no shutdown hook runs, nothing is recorded. */
    kill(): Promise<void>;
}

function exited(child: ChildProcess): Promise<number | null> {

    return child.exitCode !== null || child.signalCode !== null ?
        Promise.resolve(child.exitCode) :
        new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Starts one server process and resolves once it listens (rejects when it exits first or takes too long). */
export function startInstance(env: Record<string, string>, timeoutMs = 120_000): Promise<Instance> {

    const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts'], {
        cwd: root,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', ...env },
        stdio: ['ignore', 'pipe', 'pipe']
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));

    const instance = (uri: string): Instance => ({
        uri,
        child,
        output: () => output,
        async stop(stopTimeoutMs = 20_000) {

            if (child.exitCode !== null || child.signalCode !== null) {
                return child.exitCode;
            }

            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
            try {
                return await exited(child);
            }
            finally {
                clearTimeout(timer);
            }
        },
        async kill() {

            child.kill('SIGKILL');
            await exited(child);
        }
    });

    return new Promise((resolve, reject) => {

        const timer = setTimeout(() => {

            child.kill('SIGKILL');
            reject(new Error(`the instance did not start within ${timeoutMs} ms: ${output}`));
        }, timeoutMs);
        const onData = () => {

            const match = /server on (http:\/\/\S+)/.exec(output);
            if (match) {
                clearTimeout(timer);
                child.stdout!.off('data', onData);
                child.off('exit', onExit);
                resolve(instance(match[1]!));
            }
        };
        const onExit = (code: number | null) => {

            clearTimeout(timer);
            reject(new Error(`the instance exited with ${code} before listening: ${output}`));
        };
        child.stdout!.on('data', onData);
        child.once('exit', onExit);
    });
}

/** Starts several instances at the same moment; stops the ones that came up when another did not. */
export async function startInstances(count: number, env: (index: number) => Record<string, string>): Promise<Instance[]> {

    const results = await Promise.allSettled(Array.from({ length: count }, (_, index) => startInstance(env(index))));
    const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
        await Promise.all(started.map((instance) => instance.stop()));
        throw failed.reason;
    }

    return started;
}
