// The sidecar manifest written next to every backup, and the file helpers
// that keep a backup either complete or absent.

import { createHash, randomBytes } from 'node:crypto';
import Fs from 'node:fs';
import Path from 'node:path';
import { pipeline } from 'node:stream/promises';

import type { BackupFormat } from './names';

export interface BackupVerification {
    ok: boolean;
    at: string;
    /** What was compared: the checksum always, the row counts when the manifest has them. */
    detail: string;
}

export interface BackupManifest {
    name: string;
    database: string;
    dialect: 'postgres' | 'sqlite';
    format: BackupFormat;
    createdAt: string;
    size: number;
    sha256: string;
    serverVersion: string;
    toolVersion: string | null;
    /** Rows per table at the instant of the backup (the dump's own snapshot). */
    tables: Record<string, number>;
    durationMs: number;
    verification?: BackupVerification;
}

export async function sha256File(path: string): Promise<string> {

    const hash = createHash('sha256');
    await pipeline(Fs.createReadStream(path), hash);
    return hash.digest('hex');
}

/** Flushes a file to disk so a rename publishes complete contents. */
export async function fsyncFile(path: string): Promise<void> {

    const handle = await Fs.promises.open(path, 'r');
    try {
        await handle.sync();
    }
    finally {
        await handle.close();
    }
}

/** Writes JSON to a temporary file and renames it into place. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {

    // Random, not the pid: instances on several hosts may share the directory.
    const temp = Path.join(Path.dirname(path), `.${Path.basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
        await Fs.promises.writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
        await fsyncFile(temp);
        await Fs.promises.rename(temp, path);
    }
    catch (error) {
        await Fs.promises.rm(temp, { force: true });
        throw error;
    }
}

export async function readManifest(path: string): Promise<BackupManifest | null> {

    try {
        return JSON.parse(await Fs.promises.readFile(path, 'utf8')) as BackupManifest;
    }
    catch {
        return null;
    }
}
