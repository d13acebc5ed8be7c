import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { canonicalJson, canonicalNumber, normalizedValue, sqliteValue } from '../../../plugins/migrator/values';

export const lab = Lab.script();
const { describe, it } = lab;

describe('migrator values', () => {

    it('writes a JSON number by its exact decimal value, whatever its spelling', () => {

        const same = (texts: string[]) => expect(new Set(texts.map(canonicalNumber)).size, texts.join(' ')).to.equal(1);
        same(['1e-300', `0.${'0'.repeat(299)}1`, '10e-301', '0.01e-298']);
        same(['100', '1E2', '1e+2', '100.000', '0.1e3']);
        same(['0', '-0', '0.0', '0e10', '-0.000']);
        expect(canonicalNumber('12345678901234567890')).to.not.equal(canonicalNumber('12345678901234567891'));
        expect(canonicalNumber('9007199254740993')).to.not.equal(canonicalNumber('9007199254740992'));
        expect(canonicalNumber('0.1000000000000000055511151231257827')).to.not.equal(canonicalNumber('0.1'));
        expect(canonicalNumber('-1.5')).to.not.equal(canonicalNumber('1.5'));
        expect(canonicalNumber('1e99999999999999999999')).to.not.equal(canonicalNumber('1e99999999999999999998'));
    });

    it('gives equal JSON documents one text: keys sorted, whitespace and escapes one way', () => {

        const sqlite = '{"b":[1,2.0,"\\u00e9\\n\\/"],"a":12345678901234567890}';
        const postgres = '{"a": 12345678901234567890, "b": [1, 2.0, "é\\n/"]}';
        expect(canonicalJson('c', sqlite)).to.equal(canonicalJson('c', postgres));
        expect(canonicalJson('c', sqlite)).to.equal('{"a":1234567890123456789e1,"b":[1,2,"é\\n/"]}');
        expect(canonicalJson('c', '{"a":12345678901234567891}')).to.not.equal(canonicalJson('c', '{"a":12345678901234567890}'));
        expect(() => canonicalJson('c', '[1,')).to.throw(/column c: not valid JSON: \[1,/);
    });

    it('writes JSON into SQLite compact with every digit as written', () => {

        expect(sqliteValue('json', 'c', '{"b": [1, 2.0, 1e400], "a": 9007199254740993}')).to.equal('{"b":[1,2.0,1e400],"a":9007199254740993}');
    });

    it('normalizes timestamps of both dialects to the same millisecond text', () => {

        expect(normalizedValue('timestamp', 'c', '2024-02-29T23:59:59.123Z')).to.equal(normalizedValue('timestamp', 'c', '2024-02-29 23:59:59.123'));
        expect(normalizedValue('timestamp', 'c', '2024-02-29T23:59:59.123Z')).to.not.equal(normalizedValue('timestamp', 'c', '2024-02-29T23:59:59.124Z'));
    });
});
