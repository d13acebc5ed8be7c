// Building blocks for console panel fragments, so every panel looks the same
// and escapes the same way. The CSS classes are defined in public/console/console.css.

import { html, type Html } from '../html';

export type AlertKind = 'error' | 'warning' | 'success' | 'info';
export type BadgeTone = 'ok' | 'info' | 'warn' | 'error' | 'muted';

/** A message box; errors and warnings are announced to screen readers at once. */
export function alert(kind: AlertKind, message: unknown): Html {

    const role = kind === 'error' || kind === 'warning' ? 'alert' : 'status';
    return html`<div class="alert alert-${kind}" role="${role}">${message}</div>`;
}

export function badge(text: unknown, tone: BadgeTone = 'muted'): Html {

    return html`<span class="badge badge-${tone}">${text}</span>`;
}

export type Fact = readonly [label: unknown, value: unknown];

/** Label/value pairs laid out as a responsive grid of facts. */
export function facts(rows: readonly Fact[]): Html {

    return html`<dl class="facts">${rows.map(([label, value]) => html`<div class="fact"><dt>${label}</dt><dd>${value}</dd></div>`)}</dl>`;
}
