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

    it('searches very common words when the query has nothing else', () => {

        expect(parseQuery('the and of').groups).to.equal([
            [{ kind: 'word', text: 'the', prefix: false }], [{ kind: 'word', text: 'and', prefix: false }], [{ kind: 'word', text: 'of', prefix: false }]
        ]);
        expect(parseQuery('"to be" -the')).to.equal({ groups: [[{ kind: 'phrase', words: ['to', 'be'] }]], excluded: [] });
        // A phrase keeps its common words: both engines index them.
        expect(parseQuery('"woman having" the').groups).to.equal([[{ kind: 'phrase', words: ['woman', 'having'] }]]);
    });

    it('reads NOT as an exclusion and AND as the default conjunction', () => {

        expect(parseQuery('ethics NOT algorithms')).to.equal(parseQuery('ethics -algorithms'));
        expect(parseQuery('ethics AND algorithms')).to.equal(parseQuery('ethics algorithms'));
        expect(parseQuery('a1 OR b1 AND c1').groups).to.equal([
            [{ kind: 'word', text: 'a1', prefix: false }, { kind: 'word', text: 'b1', prefix: false }], [{ kind: 'word', text: 'c1', prefix: false }]
        ]);
        expect(parseQuery('ships NOT "trade routes"').excluded).to.equal([{ kind: 'phrase', words: ['trade', 'routes'] }]);
        // Lower case they are words like any other.
        expect(parseQuery('ethics not algorithms').groups).to.have.length(2);
        expect(() => parseQuery('ethics NOT')).to.throw(QueryError, /NOT must be followed by a word/);
        expect(() => parseQuery('ethics NOT OR x')).to.throw(QueryError, /NOT must be followed by a word/);
    });

    it('reads parentheses around alternatives and refuses any other grouping with a message', () => {

        expect(parseQuery('postgres AND (pool OR index)')).to.equal(parseQuery('postgres pool OR index'));
        expect(parseQuery('(ships OR boats) rome')).to.equal(parseQuery('ships OR boats rome'));
        for (const query of ['(ships boats)', '(ships AND boats)', '((ships OR boats))', 'x (a OR NOT b)', '(a OR -b)']) {
            expect(() => parseQuery(query), query).to.throw(QueryError, /Parentheses can only group alternatives joined by OR/);
        }

        expect(() => parseQuery('(ships OR boats')).to.throw(QueryError, /without a matching "\)"/);
        expect(() => parseQuery('ships)')).to.throw(QueryError, /without a matching "\("/);
        expect(() => parseQuery('x -(a OR b)')).to.throw(QueryError, /one by one/);
        expect(() => parseQuery('x NOT (a OR b)')).to.throw(QueryError, /one by one/);
        // Inside a phrase, parentheses are punctuation.
        expect(parseQuery('"rome (italy)"').groups).to.equal([[{ kind: 'phrase', words: ['rome', 'italy'] }]]);
    });

    it('rejects queries with nothing to search for, with a message that says what to do', () => {

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
