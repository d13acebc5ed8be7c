// The user query language, parsed once for both engines: words, "quoted
// phrases", -excluded terms (or NOT term), OR between terms, AND (the
// default, written or not), parentheses around alternatives joined by OR,
// and prefix word*. Anything a user types either parses into this small tree
// or fails with a QueryError whose message says what to fix; the fts plugins
// compile the tree, so no user text ever reaches an engine's own query syntax.

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
    type: 'term' | 'or' | 'and' | 'not' | 'open' | 'close';
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

// Upper-case keywords only: "or", "and" and "not" in lower case are words.
const OPERATORS: Record<string, RawToken['type']> = { OR: 'or', AND: 'and', NOT: 'not' };

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

        if (!negated && (char === '(' || char === ')')) {
            tokens.push({ type: char === '(' ? 'open' : 'close' });
            ++i;
            continue;
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
        while (end < input.length && !/\s/u.test(input[end]!) && !'"()'.includes(input[end]!)) {
            ++end;
        }

        const text = input.slice(start, end);
        const operator = OPERATORS[text];
        if (!negated && operator) {
            tokens.push({ type: operator });
        }
        else if (negated && !text && input[end] === '(') {
            throw new QueryError('Exclude terms one by one ("-a -b"), not a parenthesised group');
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

    if (!words.length) {
        return null;
    }

    if (words.length === 1) {
        return { kind: 'word', text: words[0]!, prefix: !token.quoted && /\*\s*$/u.test(text) };
    }

    return { kind: 'phrase', words };
}

/** True when a term is made only of very common words ("the", "to be"). */
function isCommon(term: SearchTerm): boolean {

    return term.kind === 'word' ? !term.prefix && isStopword(term.text) : term.words.every(isStopword);
}

/**
 * Very common words are left out of a query that has other words to search
 * for (they would only slow it down and blur its ranking); a query made only
 * of them searches them, on both engines, since both index every word.
 */
function withoutCommonWords(query: ParsedQuery): ParsedQuery {

    const excluded = query.excluded.filter((term) => !isCommon(term));
    if (query.groups.every((group) => group.every(isCommon))) {
        return { groups: query.groups, excluded };
    }

    const groups = query.groups.map((group) => group.filter((term) => !isCommon(term))).filter((group) => group.length);
    return { groups, excluded };
}

const PARENTHESES = 'Parentheses can only group alternatives joined by OR, like "ships AND (boats OR rafts)"';

/** Parses what a user typed; throws QueryError with a message for the user. */
export function parseQuery(input: string): ParsedQuery {

    const tokens = tokenize(input.normalize('NFKC'));
    const groups: SearchTerm[][] = [];
    const excluded: SearchTerm[] = [];
    let joinNext = false;
    let negateNext = false;
    // Inside parentheses: terms so far, and whether the last thing was OR.
    let open: { terms: number } | null = null;
    let terms = 0;

    for (const token of tokens) {
        if (token.type === 'or') {
            if (negateNext) {
                throw new QueryError('NOT must be followed by a word or "phrase" to exclude');
            }

            joinNext = groups.length > 0;
            continue;
        }

        if (token.type === 'and') {
            // AND is what a space means; written out it only ends an OR.
            if (open) {
                throw new QueryError(PARENTHESES);
            }

            joinNext = false;
            continue;
        }

        if (token.type === 'not') {
            if (open) {
                throw new QueryError(PARENTHESES);
            }

            negateNext = true;
            continue;
        }

        if (token.type === 'open') {
            if (open || negateNext) {
                throw new QueryError(negateNext ? 'Exclude terms one by one ("NOT a NOT b"), not a parenthesised group' : PARENTHESES);
            }

            open = { terms: 0 };
            continue;
        }

        if (token.type === 'close') {
            if (!open) {
                throw new QueryError('The query has a ")" without a matching "("');
            }

            open = null;
            continue;
        }

        const term = termOf(token);
        const negated = Boolean(token.negated) || negateNext;
        negateNext = false;
        if (open) {
            if (negated || (open.terms > 0 && !joinNext)) {
                throw new QueryError(PARENTHESES);
            }

            ++open.terms;
        }

        if (!term) {
            continue;
        }

        if (++terms > MAX_QUERY_TERMS) {
            throw new QueryError(`The query has too many terms: use at most ${MAX_QUERY_TERMS} words or phrases`);
        }

        if (negated) {
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

    if (open) {
        throw new QueryError('The query has a "(" without a matching ")"');
    }

    if (negateNext) {
        throw new QueryError('NOT must be followed by a word or "phrase" to exclude');
    }

    const query = withoutCommonWords({ groups, excluded });
    if (!query.groups.length) {
        throw new QueryError(query.excluded.length ?
            'The query only excludes terms: add at least one word to search for' :
            'The query has no searchable words: use letters or digits');
    }

    return query;
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
