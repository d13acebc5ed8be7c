// The user query language, parsed once for both engines: words, "quoted
// phrases", -excluded terms, OR between terms and prefix word*. Anything a
// user types either parses into this small tree or fails with a QueryError
// whose message says what to fix; the fts plugins compile the tree, so no
// user text ever reaches an engine's own query syntax.

import { isStopword } from './stopwords';

export type SearchTerm =
    | { kind: 'word'; text: string; prefix: boolean }
    | { kind: 'phrase'; words: string[] };

export interface ParsedQuery {
    /** Every group must match; a group matches when any of its terms does. */
    groups: SearchTerm[][];
    /** Terms a result must not contain. */
    excluded: SearchTerm[];
}

export const MAX_QUERY_TERMS = 20;
export const MAX_WORD_LENGTH = 100;

export class QueryError extends Error {

    constructor(message: string) {

        super(message);
        this.name = 'QueryError';
    }
}

interface RawToken {
    type: 'term' | 'or';
    text?: string;
    quoted?: boolean;
    negated?: boolean;
}

// Letters and digits make words, as FTS5's unicode61 tokenizer and
// PostgreSQL's parser both see them; everything else separates words.
const SEPARATORS = /[^\p{L}\p{N}]+/u;

function wordsOf(text: string): string[] {

    return text.toLowerCase().split(SEPARATORS).filter(Boolean);
}

function tokenize(input: string): RawToken[] {

    const tokens: RawToken[] = [];
    let i = 0;
    while (i < input.length) {
        const char = input[i]!;
        if (/\s/u.test(char)) {
            ++i;
            continue;
        }

        let negated = false;
        let start = i;
        while (input[start] === '-') {
            negated = true;
            ++start;
        }

        if (input[start] === '"') {
            // An unbalanced quote runs to the end of the input.
            const end = input.indexOf('"', start + 1);
            const stop = end === -1 ? input.length : end;
            tokens.push({ type: 'term', text: input.slice(start + 1, stop), quoted: true, negated });
            i = stop + 1;
            continue;
        }

        let end = start;
        while (end < input.length && !/\s/u.test(input[end]!) && input[end] !== '"') {
            ++end;
        }

        const text = input.slice(start, end);
        if (!negated && text === 'OR') {
            tokens.push({ type: 'or' });
        }
        else if (text) {
            tokens.push({ type: 'term', text, negated });
        }

        i = Math.max(end, i + 1);
    }

    return tokens;
}

function termOf(token: RawToken): SearchTerm | null {

    const text = token.text!;
    const words = wordsOf(text);
    for (const word of words) {
        if (word.length > MAX_WORD_LENGTH) {
            throw new QueryError(`Words in a query can be at most ${MAX_WORD_LENGTH} characters long`);
        }
    }

    if (words.every(isStopword)) {
        // Both engines ignore very common words; a term made only of them matches nothing useful.
        return null;
    }

    if (words.length === 1) {
        return { kind: 'word', text: words[0]!, prefix: !token.quoted && /\*\s*$/u.test(text) };
    }

    return { kind: 'phrase', words };
}

/** Parses what a user typed; throws QueryError with a message for the user. */
export function parseQuery(input: string): ParsedQuery {

    const tokens = tokenize(input.normalize('NFKC'));
    const groups: SearchTerm[][] = [];
    const excluded: SearchTerm[] = [];
    let joinNext = false;
    let terms = 0;

    for (const token of tokens) {
        if (token.type === 'or') {
            joinNext = groups.length > 0;
            continue;
        }

        const term = termOf(token);
        if (!term) {
            continue;
        }

        if (++terms > MAX_QUERY_TERMS) {
            throw new QueryError(`The query has too many terms: use at most ${MAX_QUERY_TERMS} words or phrases`);
        }

        if (token.negated) {
            excluded.push(term);
            joinNext = false;
            continue;
        }

        if (joinNext) {
            groups[groups.length - 1]!.push(term);
        }
        else {
            groups.push([term]);
        }

        joinNext = false;
    }

    if (!groups.length) {
        throw new QueryError(excluded.length ?
            'The query only excludes terms: add at least one word to search for' :
            'The query has no searchable words: use letters or digits (very common words such as "the" are ignored)');
    }

    return { groups, excluded };
}

/** The terms that contribute to ranking, in query order. */
export function positiveTerms(query: ParsedQuery): SearchTerm[] {

    return query.groups.flat();
}

function formatTerm(term: SearchTerm): string {

    return term.kind === 'word' ? `${term.text}${term.prefix ? '*' : ''}` : `"${term.words.join(' ')}"`;
}

/** The canonical text of a parsed query (parses back to the same tree). */
export function formatQuery(query: ParsedQuery): string {

    return [
        ...query.groups.map((group) => group.map(formatTerm).join(' OR ')),
        ...query.excluded.map((term) => `-${formatTerm(term)}`)
    ].join(' ');
}
