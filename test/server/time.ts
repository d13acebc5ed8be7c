import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import Pg from 'pg';

import { postgresUtcToIso, toIsoTimestamp } from '../../server/time';
import { createDatabaseEngine } from '../../server/db/engine';
import { createTestDatabase, postgresOnly } from '../helpers/database';

export const lab = Lab.script();
const { describe, it } = lab;

const pgDate = Pg.types.getTypeParser(1184) as (text: string) => Date;

function pad(value: number, width: number): string {

    return String(value).padStart(width, '0');
}

/** A deterministic generator of integers below n. */
function generator(seed: number): (n: number) => number {

    return (n) => {

        seed = (seed * 1103515245 + 12345) % 2147483648;
        return Math.floor((seed / 2147483648) * n);
    };
}

describe('timestamps', () => {

    it('keeps canonical ISO text as it is and agrees with Date on every other shape', () => {

        const random = generator(7);

        for (let i = 0; i < 5_000; ++i) {
            // Fields out of range on purpose now and then (day 31 of April, hour 24, second 60).
            const text = `${pad(random(10_000), 4)}-${pad(1 + random(12), 2)}-${pad(1 + random(31), 2)}T${pad(random(25), 2)}:${pad(random(60), 2)}:${pad(random(61), 2)}.${pad(random(1000), 3)}Z`;
            // The general path: a Date, as before the fast paths existed.
            const date = new Date(text);
            if (Number.isNaN(date.getTime())) {
                expect(() => toIsoTimestamp(text), text).to.throw(TypeError);
            }
            else {
                expect(toIsoTimestamp(text), text).to.equal(date.toISOString());
            }
        }

        expect(toIsoTimestamp('2026-02-29T00:00:00.000Z')).to.equal('2026-03-01T00:00:00.000Z');
        expect(toIsoTimestamp('2024-02-29T00:00:00.000Z')).to.equal('2024-02-29T00:00:00.000Z');
        expect(toIsoTimestamp('2026-01-01T24:00:00.000Z')).to.equal('2026-01-02T00:00:00.000Z');
        expect(() => toIsoTimestamp('2026-01-01T23:59:60.000Z')).to.throw(TypeError);
        expect(toIsoTimestamp('2026-11-24 05:14:28')).to.equal('2026-11-24T05:14:28.000Z');
    });

    it('turns PostgreSQL UTC text into what its Date parser and toISOString give', () => {

        const random = generator(11);

        for (let i = 0; i < 5_000; ++i) {
            const digits = random(7);
            const fraction = digits ? `.${pad(random(10 ** digits), digits).replace(/0+$/, '') || '0'}` : '';
            const text = `${pad(1 + random(9_999), 4)}-${pad(1 + random(12), 2)}-${pad(1 + random(28), 2)} ${pad(random(24), 2)}:${pad(random(60), 2)}:${pad(random(60), 2)}${fraction}+00`;
            expect(postgresUtcToIso(text), text).to.equal(pgDate(text).toISOString());
        }

        // Other shapes are left to the general parser.
        for (const text of ['infinity', '-infinity', '0044-03-15 12:00:00+00 BC', '2026-11-24 05:14:28+05:30', '2026-02-30 00:00:00+00']) {
            expect(postgresUtcToIso(text), text).to.be.null();
        }
    });

    it('postgres only: reads timestamptz as the ISO text SQLite stores', postgresOnly, async () => {

        const database = await createTestDatabase();
        const engine = createDatabaseEngine(database.url, { min: 0, max: 1 });
        try {
            const { rows } = await engine.knex.raw(`
                SELECT '2026-11-24 05:14:28.123456+00'::timestamptz AS a, '2026-11-24 07:14:28.5+02'::timestamptz AS b,
                       'infinity'::timestamptz AS c, NULL::timestamptz AS d`);
            expect(rows[0].a).to.equal('2026-11-24T05:14:28.123Z');
            expect(rows[0].b).to.equal('2026-11-24T05:14:28.500Z');
            expect(rows[0].c).to.equal(Infinity);
            expect(rows[0].d).to.be.null();
        }
        finally {
            await engine.destroy();
        }
    });
});
