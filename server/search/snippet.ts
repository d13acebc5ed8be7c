// Snippets leave the engines with control-character markers instead of
// <mark>, so the text can be HTML-escaped first and marked up after.

import { escapeHtml } from '../html';

export const SNIPPET_START = '\u0002';
export const SNIPPET_END = '\u0003';

/** Escapes a raw snippet and turns its markers into balanced <mark> elements. */
export function renderSnippet(raw: string): string {

    let open = false;
    let out = '';
    // eslint-disable-next-line no-control-regex -- STX/ETX are the match markers the engines put in.
    for (const part of escapeHtml(raw).split(/([\u0002\u0003])/u)) {
        if (part === SNIPPET_START) {
            if (!open) {
                out += '<mark>';
                open = true;
            }
        }
        else if (part === SNIPPET_END) {
            if (open) {
                out += '</mark>';
                open = false;
            }
        }
        else {
            out += part;
        }
    }

    return open ? `${out}</mark>` : out;
}
