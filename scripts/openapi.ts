// Writes the OpenAPI document the server serves at /openapi.json to a file,
// from a server composed with every plugin on (SQLite in memory, never
// listening), for the validators of `npm run lint:openapi`.
//
//   node --import tsx scripts/openapi.ts <output file>

import Fs from 'node:fs/promises';
import Path from 'node:path';

import { loadConfig } from '../server/config';
import { createServer } from '../server/index';

// A fixed environment, so the document does not depend on the caller's.
const ENV = {
    NODE_ENV: 'production',
    DATABASE_URL: 'sqlite::memory:',
    ADMIN_TOKEN: 'openapi-dump-token-not-a-secret',
    SESSION_SECRET: 'openapi-dump-session-secret-not-a-secret-01',
    LOG_LEVEL: 'silent'
};

async function main(output: string | undefined): Promise<number> {

    if (!output) {
        console.error('usage: node --import tsx scripts/openapi.ts <output file>');
        return 2;
    }

    const server = await createServer(loadConfig(ENV));
    try {
        await server.initialize();
        const res = await server.inject('/openapi.json');
        if (res.statusCode !== 200) {
            console.error(`openapi: /openapi.json answered ${res.statusCode}: ${res.payload}`);
            return 1;
        }

        await Fs.mkdir(Path.dirname(Path.resolve(output)), { recursive: true });
        await Fs.writeFile(output, `${JSON.stringify(JSON.parse(res.payload), null, 2)}\n`);
        console.log(`openapi: wrote ${output} (${Object.keys(JSON.parse(res.payload).paths).length} paths)`);
        return 0;
    }
    finally {
        await server.stop();
    }
}

main(process.argv[2]).then((code) => process.exit(code), (error: unknown) => {

    console.error(`openapi: ${(error as Error)?.message ?? String(error)}`);
    process.exit(1);
});
