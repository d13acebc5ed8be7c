import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { formatQuery, MAX_QUERY_TERMS, parseQuery, QueryError } from '../../../server/search/query';
import { renderSnippet, SNIPPET_END, SNIPPET_START } from '../../../server/search/snippet';
import { closestWord, trigramSimilarity } from '../../../server/search/suggest';

export const lab = Lab.script();
const { describe, it } = lab;

describe('search query language', () => {

    it('reads words, quoted phrases, exclusions, OR and prefixes', () => {

        expect(parseQuery('Roman "trade routes" -Carthage OR -x ships OR boats hist*')).to.equal({
            groups: [
                [{ kind: 'word', text: 'roman', prefix: false }],
                [{ kind: 'phrase', words: ['trade', 'routes'] }],
                [{ kind: 'word', text: 'ships', prefix: false }, { kind: 'word', text: 'boats', prefix: false }],
                [{ kind: 'word', text: 'hist', prefix: true }]
            ],
            excluded: [{ kind: 'word', text: 'carthage', prefix: false }, { kind: 'word', text: 'x', prefix: false }]
        });
    });

    it('ignores the stop words both engines ignore, and punctuation', () => {

        expect(parseQuery('the history of: Rome!!')).to.equal({
            groups: [[{ kind: 'word', text: 'history', prefix: false }], [{ kind: 'word', text: 'rome', prefix: false }]],
            excluded: []
        });
    });

    it('turns a word with inner punctuation into a phrase and a one-word phrase into a word', () => {

        expect(parseQuery('e-mail "rome"').groups).to.equal([
            [{ kind: 'phrase', words: ['e', 'mail'] }],
            [{ kind: 'word', text: 'rome', prefix: false }]
        ]);
    });

    it('treats an unbalanced quote as a phrase running to the end', () => {

        expect(parseQuery('ships "trade routes').groups[1]).to.equal([{ kind: 'phrase', words: ['trade', 'routes'] }]);
    });

    it('treats lowercase or and a dangling OR as nothing', () => {

        expect(parseQuery('OR ships or OR').groups).to.equal([[{ kind: 'word', text: 'ships', prefix: false }]]);
    });

    it('rejects queries with nothing to search for, with a message that says what to do', () => {

        expect(() => parseQuery('the and of')).to.throw(QueryError, /no searchable words/);
        expect(() => parseQuery('*** ()')).to.throw(QueryError, /no searchable words/);
        expect(() => parseQuery('-rome -"trade routes"')).to.throw(QueryError, /only excludes terms/);
        expect(() => parseQuery(Array.from({ length: MAX_QUERY_TERMS + 1 }, (_, i) => `w${i}`).join(' '))).to.throw(QueryError, /too many terms/);
        expect(() => parseQuery('a'.repeat(101))).to.throw(QueryError, /at most 100 characters/);
    });

    it('formats a parsed query back to text that parses to the same tree', () => {

        const parsed = parseQuery('roman "trade routes" ships OR boats hist* -carthage');
        expect(formatQuery(parsed)).to.equal('roman "trade routes" ships OR boats hist* -carthage');
        expect(parseQuery(formatQuery(parsed))).to.equal(parsed);
    });
});

describe('search snippets', () => {

    it('escapes HTML and turns markers into balanced <mark> elements', () => {

        expect(renderSnippet(`<b>${SNIPPET_START}Rome${SNIPPET_END}</b> & "x"`)).to.equal('&lt;b&gt;<mark>Rome</mark>&lt;/b&gt; &amp; &quot;x&quot;');
        expect(renderSnippet(`${SNIPPET_END}a ${SNIPPET_START}b ${SNIPPET_START}c`)).to.equal('a <mark>b c</mark>');
    });
});

describe('search suggestions', () => {

    it('measures trigram similarity as pg_trgm does', () => {

        expect(trigramSimilarity('word', 'word')).to.equal(1);
        // pg_trgm gives 0.7 and 0.33333334 (a float4) for these pairs.
        expect(trigramSimilarity('zeppelin', 'zepelin')).to.equal(0.7);
        expect(trigramSimilarity('histroy', 'history')).to.equal(1 / 3);
    });

    it('picks the closest word of the texts, not the query word itself', () => {

        expect(closestWord('histroy', ['A history of Rome', 'historian notes'])).to.equal('history');
        expect(closestWord('history', ['history'])).to.equal(null);
        expect(closestWord('qqqq', ['history'])).to.equal(null);
    });
});
