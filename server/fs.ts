// Making directories. Node 20's mkdir with { recursive: true } never returns
// for a path under a filesystem that answers ENOENT to every mkdir (/proc,
// seen on Node 20.20): a SQLite URL or BACKUP_DIR pointing there would hang
// the process at full CPU. Missing directories are made one level at a time.

import Fs from 'node:fs';
import Path from 'node:path';

/** The directories that do not exist yet, outermost first. */
function missingDirectories(dir: string): string[] {

    const missing: string[] = [];
    let current = Path.resolve(dir);
    while (!Fs.existsSync(current)) {
        missing.unshift(current);
        const parent = Path.dirname(current);
        if (parent === current) {
            break;
        }

        current = parent;
    }

    return missing;
}

const alreadyThere = (error: unknown) => (error as NodeJS.ErrnoException)?.code === 'EEXIST';

export function makeDirectorySync(dir: string, mode?: number): void {

    for (const path of missingDirectories(dir)) {
        try {
            Fs.mkdirSync(path, { mode });
        }
        catch (error) {
            if (!alreadyThere(error)) {
                throw error;
            }
        }
    }
}

export async function makeDirectory(dir: string, mode?: number): Promise<void> {

    for (const path of missingDirectories(dir)) {
        try {
            await Fs.promises.mkdir(path, { mode });
        }
        catch (error) {
            if (!alreadyThere(error)) {
                throw error;
            }
        }
    }
}
