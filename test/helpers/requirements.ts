// Tests that need something outside npm (a PostgreSQL server in the SQLite
// suite, promtool). On a developer's machine without it they are skipped, and
// the run says so once, with what to do; under CI they always run, so a missing
// server or tool fails them instead of hiding them.

import { spawnSync } from 'node:child_process';

import { testDatabaseUrl, testPostgresUrl, testsRunInCi } from '../../server/config';
import { redactUrl } from '../../server/db/url';

export const inCi = testsRunInCi();

/** Lab flags for a test that needs something: run it, or skip it. */
export type RequirementFlags = { skip: boolean };

const announced = new Set<string>();

function requirement(what: string, available: () => boolean, reason: string): RequirementFlags {

    if (inCi || available()) {
        return { skip: false };
    }

    if (!announced.has(what)) {
        announced.add(what);
        process.stderr.write(`\nSkipping the tests that need ${what}: ${reason}\n`);
    }

    return { skip: true };
}

/** The PostgreSQL database whose server the cross-dialect tests use (see testPostgresUrl). */
export const postgresServerUrl = testPostgresUrl();

/** A database of the same server, by name. */
export function postgresDatabaseUrl(name: string): string {

    const url = new URL(postgresServerUrl);
    url.pathname = `/${name}`;
    return url.toString();
}

let reachable: boolean | undefined;

// Probed once per run, before the tests are declared, so lab reports the
// skip; the server's maintenance database always exists.
function postgresReachable(): boolean {

    reachable ??= spawnSync(process.execPath, ['-e', `
        const { Client } = require('pg');
        const client = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 5000 });
        client.connect().then(() => client.end()).then(() => process.exit(0), () => process.exit(1));`,
    postgresDatabaseUrl('postgres')], { timeout: 10_000 }).status === 0;
    return reachable;
}

/**
 * Flags for a test of the SQLite suite that needs a PostgreSQL server as well
 * (comparing or moving data between the dialects). `npm run test:pg` always
 * runs them.
 */
export function needsPostgres(): RequirementFlags {

    if (!testDatabaseUrl() && !announced.has('PostgreSQL server') && (inCi || postgresReachable())) {
        announced.add('PostgreSQL server');
        process.stderr.write(`\nThe tests that compare or move data between SQLite and PostgreSQL use the PostgreSQL server at ${new URL(postgresServerUrl).host} ` +
            '(scratch databases na_*, dropped afterwards; set TEST_POSTGRES_URL to use another).\n');
    }

    return requirement('PostgreSQL', postgresReachable,
        `no server answers at ${redactUrl(postgresServerUrl)}. ` +
        'They compare or move data between SQLite and PostgreSQL. Start PostgreSQL there, or point ' +
        'TEST_POSTGRES_URL at one, and run `npm test` again; `npm run test:pg` runs them too.');
}

/** Flags for a test that runs `promtool` (Debian package `prometheus`). */
export function needsPromtool(): RequirementFlags {

    return requirement('promtool', () => spawnSync('promtool', ['--version']).status === 0,
        'it is not on PATH. Install it (Debian/Ubuntu: `apt-get install prometheus`) to check the /metrics exposition.');
}
