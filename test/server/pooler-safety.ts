import Fs from 'node:fs';
import Path from 'node:path';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { postgresOnly } from '../helpers/database';
import { createTestServer } from '../helpers/server';

export const lab = Lab.script();
const { describe, it } = lab;

const ROOT = Path.resolve(__dirname, '..', '..');

// Code that runs on pooled connections (DATABASE_URL may be PgBouncer in
// transaction mode): the server, its plugins, migrations and seeds.
const POOLED_CODE = ['server', 'plugins', 'migrations', 'seeds'];

// engine.prepared() names a statement only after checking that the pooled
// connections reach the server itself (test/server/pgbouncer.ts).
// The advisor prepares a statement to EXPLAIN it with a generic plan (no
// EXPLAIN (GENERIC_PLAN) before PostgreSQL 16), and deallocates it inside the
// same transaction, on every path.
const ALLOWED = new Map([
    [Path.join('server', 'db', 'engine.ts'), ['a named prepared statement (use an unnamed statement)']],
    [Path.join('plugins', 'monitoring', 'dialects', 'postgres-advisor.ts'), ['a named prepared statement (use an unnamed statement)']]
]);

/** Session state a transaction-mode pooler hands to another client, with what to use instead. */
const SESSION_STATE: Array<{ what: string; pattern: RegExp; instead: string }> = [
    { what: 'a named prepared statement', pattern: /\.options\(\s*\{[^}]*\bname\s*:/, instead: 'an unnamed statement' },
    { what: 'a named prepared statement', pattern: /\bPREPARE\s+\w+\s*(\(|AS\b)/i, instead: 'an unnamed statement' },
    { what: 'a session SET', pattern: /(raw|query)\(\s*[`'"]\s*SET\s+(?!LOCAL\b|CONSTRAINTS\b|TRANSACTION\b)/i, instead: 'SET LOCAL inside a transaction' },
    { what: 'a session SET', pattern: /set_config\([^)]*,\s*false\s*\)/i, instead: "set_config(…, true) inside a transaction" },
    { what: 'a session advisory lock', pattern: /pg_(try_)?advisory_lock(_shared)?\s*\(/i, instead: 'pg_(try_)advisory_xact_lock' },
    { what: 'LISTEN', pattern: /[`'"]\s*LISTEN\s/i, instead: 'polling a table' },
    { what: 'a WITH HOLD cursor', pattern: /\bWITH\s+HOLD\b/i, instead: 'a cursor inside one transaction' }
];

function sourceFiles(dir: string): string[] {

    return Fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {

        const path = Path.join(dir, entry.name);
        if (entry.isDirectory()) {
            return sourceFiles(path);
        }

        return /\.(ts|js)$/.test(entry.name) ? [path] : [];
    });
}

function findSessionState(source: string): string[] {

    return SESSION_STATE.filter(({ pattern }) => pattern.test(source)).map(({ what, instead }) => `${what} (use ${instead})`);
}

describe('pooler safety', () => {

    it('recognises each kind of session state a transaction-mode pooler leaks', () => {

        const samples = [
            `knex('resources').first().options({ name: 'resources_get_by_id' })`,
            `knex.raw('PREPARE lookup AS SELECT 1')`,
            `trx.raw("SET search_path = ''")`,
            'client.query(`SET statement_timeout = 0`)',
            `knex.raw("SELECT set_config('search_path', '', false)")`,
            `knex.raw('SELECT pg_try_advisory_lock(42)')`,
            `client.query('LISTEN jobs')`,
            `knex.raw('DECLARE c CURSOR WITH HOLD FOR SELECT 1')`
        ];
        for (const sample of samples) {
            expect(findSessionState(sample), sample).to.have.length(1);
        }

        // What stays inside a transaction is fine.
        for (const sample of [`trx.raw('SET LOCAL statement_timeout = 0')`, `trx.raw('SELECT pg_try_advisory_xact_lock(42)')`, `knex('t').update({ a: 1 }) // UPDATE t SET a = 1`]) {
            expect(findSessionState(sample), sample).to.equal([]);
        }
    });

    it('finds no session state in code that runs on pooled connections', () => {

        const found = POOLED_CODE.flatMap((dir) => sourceFiles(Path.join(ROOT, dir)))
            .flatMap((file) => {

                const allowed = ALLOWED.get(Path.relative(ROOT, file)) ?? [];
                return findSessionState(Fs.readFileSync(file, 'utf8')).filter((what) => !allowed.includes(what)).map((what) => `${Path.relative(ROOT, file)}: ${what}`);
            });
        expect(found).to.equal([]);
    });

    it('postgres only: names the resource lookup only where the pool reaches PostgreSQL itself', postgresOnly, async () => {

        // One connection, so the statement the lookup prepared is visible to the next query.
        const t = await createTestServer({ DB_POOL_MIN: '0', DB_POOL_MAX: '1' });
        try {
            expect(t.server.db.namedStatements).to.be.true();
            const created = await t.server.inject({ method: 'POST', url: '/resources', payload: { title: 'Named once' } });
            const id = (created.result as { id: string }).id;
            expect((await t.server.inject(`/resources/${id}`)).statusCode).to.equal(200);
            expect((await t.server.inject(`/resources/${id}`)).statusCode).to.equal(200);
            const { rows } = await t.server.knex.raw('SELECT name FROM pg_prepared_statements');
            expect(rows).to.equal([{ name: 'resources_get_by_id' }]);
        }
        finally {
            await t.stop();
        }
    });
});
