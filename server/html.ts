// Server-rendered HTML: every interpolated value is escaped unless it is an
// Html fragment built by this module.

export class Html {

    constructor(readonly value: string) {}

    toString(): string {

        return this.value;
    }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(value: unknown): string {

    return String(value ?? '').replace(/[&<>"'`]/g, (char) => ESCAPES[char]!);
}

function render(value: unknown): string {

    if (value instanceof Html) {
        return value.value;
    }

    if (Array.isArray(value)) {
        return value.map(render).join('');
    }

    if (value === null || value === undefined || value === false) {
        return '';
    }

    return escapeHtml(value);
}

/** Tagged template: html`<td>${userText}</td>` escapes userText; nested html`` and arrays of them are kept. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {

    let out = strings[0]!;
    for (let i = 0; i < values.length; ++i) {
        out += render(values[i]) + strings[i + 1]!;
    }

    return new Html(out);
}

/** Marks trusted markup (for example a sanitised snippet) as HTML. Never pass user input. */
export function trusted(markup: string): Html {

    return new Html(markup);
}
