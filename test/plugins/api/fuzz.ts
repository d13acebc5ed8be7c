// Generated bad input over every API route, on both dialects in one run:
// 5,000 requests each, the same sequence, no 5xx, and the same status for
// every request on SQLite and PostgreSQL. Like the parity tests, it needs a
// PostgreSQL server even in the SQLite suite (skipped without one, except
// under CI).

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { badRequests, loadFixedRows, type GeneratedRequest } from '../../helpers/bad-input';
import { dropPostgresDatabase, ensurePostgresDatabase, isPostgres, removeSqliteFiles, tempSqlitePath } from '../../helpers/database';
import { needsPostgres, postgresDatabaseUrl } from '../../helpers/requirements';
import { createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

export const FUZZ_REQUESTS = 5000;

describe('api: generated bad input on both dialects', { timeout: 300_000, ...(isPostgres ? {} : needsPostgres()) }, () => {

    let sqlite: TestServer;
    let postgres: TestServer;
    const sqliteFile = tempSqlitePath('fuzz');
    const scratchUrl = postgresDatabaseUrl(`na_api_fuzz_${process.pid}`);

    before(async () => {

        // The suite's own dialect through the usual helper, the other one beside it.
        if (isPostgres) {
            postgres = await createTestServer();
            sqlite = await createTestServer({ DATABASE_URL: `sqlite:${sqliteFile}` });
        }
        else {
            sqlite = await createTestServer();
            await ensurePostgresDatabase(scratchUrl);
            postgres = await createTestServer({ DATABASE_URL: scratchUrl });
        }

        await loadFixedRows(sqlite.server);
        await loadFixedRows(postgres.server);
    });

    after(async () => {

        await sqlite?.stop();
        await postgres?.stop();
        removeSqliteFiles(sqliteFile);
        if (!isPostgres) {
            await dropPostgresDatabase(scratchUrl);
        }
    });

    const send = async (t: TestServer, request: GeneratedRequest) => {

        const res = await t.server.inject({ method: request.method, url: request.url, payload: request.payload, headers: request.headers });
        return { status: res.statusCode, body: res.payload };
    };

    it(`answers ${FUZZ_REQUESTS.toLocaleString('en')} generated bad requests per dialect with the same status, never a 5xx`, async (flags: Lab.script.Flags) => {

        const requests = badRequests(FUZZ_REQUESTS);
        const statuses: Record<string, number> = {};
        const mismatches: string[] = [];
        const faults: string[] = [];
        for (const request of requests) {
            // One at a time on each, in the same order: the same state evolves on both.
            const [a, b] = await Promise.all([send(sqlite, request), send(postgres, request)]);
            statuses[a.status] = (statuses[a.status] ?? 0) + 1;
            const label = `${request.method} ${request.url.slice(0, 200)} ${(request.payload ?? '').slice(0, 200)}`;
            if (a.status >= 500 || b.status >= 500) {
                faults.push(`${label} → sqlite ${a.status}, postgres ${b.status}: ${(a.status >= 500 ? a.body : b.body).slice(0, 200)}`);
            }

            if (a.status !== b.status) {
                mismatches.push(`${label} → sqlite ${a.status} ${a.body.slice(0, 160)} | postgres ${b.status} ${b.body.slice(0, 160)}`);
            }

            expect(a.body).to.not.match(/select |insert into|SQLITE_|\bat .*\.ts:\d+/i);
            expect(b.body).to.not.match(/select |insert into|SQLITE_|\bat .*\.ts:\d+/i);
        }

        flags.note(`statuses: ${JSON.stringify(statuses)}`);
        expect(faults.slice(0, 10), `${faults.length} answers were 5xx`).to.equal([]);
        expect(mismatches.slice(0, 10), `${mismatches.length} statuses differ between dialects`).to.equal([]);
        expect(Object.keys(statuses).length).to.be.at.least(4);
    });
});
