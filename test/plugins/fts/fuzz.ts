// Hostile queries: at least 5,000 generated strings thrown at GET /search on
// the suite's dialect. Every answer must be a 200 or a 400 with a message;
// never a 5xx, never SQL text.

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { createTestServer, type TestServer } from '../../helpers/server';
import { seededRandom } from '../../helpers/search-corpus';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const FRAGMENTS = [
    // Words the library holds, so many queries reach the engines.
    'ships', 'trade', 'rome', 'carthage', 'zeppelin', 'mast', 'history', 'sailing', 'roman', 'routes',
    // The query language and its misuse.
    '"', '""', '"ships', 'trade"', '-', '--', '-ships', 'OR', 'or', 'OR OR', '*', 'ship*', '**', '-*', '"*"',
    // FTS5 syntax.
    'AND', 'NOT', 'NEAR', 'NEAR(ships trade, 2)', 'title:ships', '{title description}:rome', '^ships', '+', '(', ')', '((', '))', ':', 'col:',
    // tsquery syntax.
    '&', '|', '!', '!!', '<->', '<2>', ':*', "'", "''", "ships & !trade | rome:*", 'a:A', '\\', '\\\\', '\\"',
    // SQL fragments.
    "'; DROP TABLE resources; --", "' OR 1=1 --", '1); SELECT pg_sleep(1); --', '/*', '*/', ';', '%', '_', '%_%', '$1', '?', '??', ':name',
    // Unicode: emoji, right-to-left, combining marks, other scripts, full-width, zero-width.
    '😀', '👩‍👩‍👧', 'مرحبا', 'שלום', 'é', 'e\u0301', 'Ｒｏｍｅ', 'ＯＲ', 'Straße', 'İstanbul', '東京', '\u200b', '\u202e', '\ufeff', '\ud83d',
    // Control characters and odd whitespace.
    '\u0000', '\u0001', '\u0002', '\u0003', '\t', '\n', '\r', '\u00a0', '\u2028',
    // Long words and numbers.
    'x'.repeat(99), 'y'.repeat(150), '12345', '3.14', '-1', '1e309', 'NaN', 'null', 'undefined', '<script>', '&amp;', '<mark>'
];

/** Percent-encodes the UTF-8 bytes of a string (lone surrogates become U+FFFD, as a browser sends them). */
function encode(text: string): string {

    return [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
}

// Byte sequences that are not UTF-8 at all, sent as they are.
const RAW = ['%FF', '%C0%AF', '%ED%A0%BD', '%', '%%', '%zz', '%E2%82', 'ships%00trade'];

/** Query-string values, already percent-encoded. */
function hostileQueries(count: number): string[] {

    const random = seededRandom(4242);
    const queries: string[] = [];
    while (queries.length < count) {
        const kind = random();
        if (kind < 0.05) {
            // Noise: random code points, up to 2,000 characters (over the 1,000 limit).
            const length = Math.floor(random() * 2000);
            queries.push(encode(Array.from({ length }, () => String.fromCodePoint(Math.floor(random() * 0x2ffff) % 0xd800)).join('')));
            continue;
        }

        const parts = 1 + Math.floor(random() * 8);
        const glue = random() < 0.7 ? ' ' : '';
        const text = Array.from({ length: parts }, () => FRAGMENTS[Math.floor(random() * FRAGMENTS.length)]!).join(glue);
        queries.push(random() < 0.03 ? encode(text) + RAW[Math.floor(random() * RAW.length)]! : encode(text));
    }

    return queries;
}

describe('fts: hostile queries', () => {

    let t: TestServer;

    before(async () => {

        t = await createTestServer();
        for (const resource of [
            { title: 'Roman trade routes', description: 'Ships carried grain to Rome.', subject: ['history', 'trade'] },
            { title: 'Carthage and Rome', description: 'Rival trade powers and their ships.', subject: ['history'] },
            { title: 'Zeppelin mooring mast', description: 'Sailing the air; "quoted" text & <b>markup</b>.', subject: ['aviation'] }
        ]) {
            const res = await t.server.inject({ method: 'POST', url: '/resources', payload: resource });
            expect(res.statusCode).to.equal(201);
        }
    });

    after(async () => {

        await t.stop();
    });

    it('answers 5,000+ generated hostile queries with 200 or a clear 400, never a 5xx', { timeout: 600_000 }, async (flags: Lab.script.Flags) => {

        const queries = hostileQueries(5200);
        const statuses: Record<number, number> = {};
        const failures: string[] = [];
        let next = 0;
        const worker = async () => {

            while (next < queries.length) {
                const q = queries[next++]!;
                const res = await t.server.inject(`/search?q=${q}&limit=5`);
                statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
                const body = JSON.parse(res.payload);
                if (res.statusCode === 400) {
                    if (!body.message || /select|syntax error|sqlite|fts5|tsquery/i.test(body.message)) {
                        failures.push(`${JSON.stringify(q)} → 400 ${body.message}`);
                    }
                }
                else if (res.statusCode !== 200 || typeof body.total !== 'number') {
                    failures.push(`${JSON.stringify(q)} → ${res.statusCode} ${res.payload.slice(0, 200)}`);
                }
            }
        };

        await Promise.all(Array.from({ length: 4 }, worker));
        flags.note(`statuses: ${JSON.stringify(statuses)}`);
        expect(failures.slice(0, 5)).to.equal([]);
        expect(Object.values(statuses).reduce((sum, n) => sum + n, 0)).to.equal(queries.length);
        // The generator must reach the engines, not only the validators.
        expect(statuses[200]).to.be.above(2000);
    });
});
