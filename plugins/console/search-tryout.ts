// The Search tryout panel: a query box whose results show rank and snippet
// as the full-text search of the active dialect returns them.

import type { Request, ServerRoute } from '@hapi/hapi';

import { Joi } from '../../server/input';
import { ADMIN_STRATEGY } from '../../server/auth';
import { alert, badge } from '../../server/console/fragments';
import type { ConsolePanel } from '../../server/console/panel';
import { escapeHtml, html, trusted, type Html } from '../../server/html';
import type { SearchResult } from '../../server/search/types';

export const SEARCH_PANEL: ConsolePanel = { id: 'search', title: 'Search tryout', order: 60, path: '/console/panels/search' };
export const SEARCH_RESULTS_PATH = '/console/panels/search/results';

export const MAX_QUERY_LENGTH = 500;

/**
 * Keeps only <mark> and </mark> and character references from a snippet and
 * escapes everything else. The search contract promises an escaped snippet;
 * this makes sure a broken implementation still cannot inject markup.
 */
/** Four significant digits: bm25 scores range from about 1e-6 (a word in most documents) to tens. */
export function formatRank(rank: number): string {

    return rank === 0 ? '0' : Number(rank.toPrecision(4)).toString();
}

export function sanitizeSnippet(snippet: unknown): Html {

    const safe = String(snippet ?? '').replace(/<\/?mark>|&(?:[a-z][a-z0-9]{1,31}|#[0-9]{1,7}|#x[0-9a-f]{1,6});|[&<>"'`]/gi, (match) => {

        return match.length > 1 ? match : escapeHtml(match);
    });

    return trusted(safe);
}

function searchAvailable(request: Request): boolean {

    return request.server.decorations.server.includes('search');
}

function unavailable(): Html {

    return alert('warning', 'Search unavailable: no full-text search plugin is loaded on this server (fts-sqlite or fts-postgres).');
}

export function searchForm(): Html {

    return html`<form class="search-form" role="search" hx-get="${SEARCH_RESULTS_PATH}" hx-target="#search-results">
  <label class="visually-hidden" for="search-q">Query</label>
  <input id="search-q" name="q" type="search" maxlength="${MAX_QUERY_LENGTH}" required placeholder="e.g. postgres (pool OR index) NOT replica" autocomplete="off">
  <button class="btn btn-primary" type="submit">Search <span class="htmx-indicator spinner" aria-hidden="true"></span></button>
</form>
<div id="search-results" class="search-results" aria-live="polite"></div>`;
}

function titleOf(resource: Record<string, unknown>): string {

    const title = resource.title;
    return typeof title === 'string' && title.trim() ? title : '(untitled)';
}

/** Where a results fragment sits in the whole result list. */
export interface ResultsPage {
    limit: number;
    offset: number;
}

function pageLink(query: string, page: ResultsPage, label: string): Html {

    const url = `${SEARCH_RESULTS_PATH}?q=${encodeURIComponent(query)}&limit=${page.limit}&offset=${page.offset}`;
    return html`<a href="#" hx-get="${url}" hx-target="#search-results">${label}</a>`;
}

/** Previous / next links when the results run past this page. */
function pager(query: string, result: SearchResult, page: ResultsPage): Html | null {

    const previous = page.offset > 0 ? pageLink(query, { limit: page.limit, offset: Math.max(0, page.offset - page.limit) }, '← Previous') : null;
    const next = page.offset + result.items.length < result.total ? pageLink(query, { limit: page.limit, offset: page.offset + page.limit }, 'Next →') : null;
    return previous || next ? html`<nav class="pager" aria-label="Result pages">${previous} ${next}</nav>` : null;
}

export function resultsFragment(query: string, result: SearchResult, elapsedMs: number, page: ResultsPage = { limit: result.items.length, offset: 0 }): Html {

    const shown = result.items.length ? html` (${page.offset + 1}–${page.offset + result.items.length})` : null;
    const total = result.total_relation === 'gte' ? `${result.total.toLocaleString('en-US')}+` : result.total;
    const summary = html`<p class="muted">${total} result${result.total === 1 ? '' : 's'}${shown} for <q>${query}</q> in ${elapsedMs.toFixed(1)} ms</p>`;
    const suggestion = result.suggestion
        ? html`<p>Did you mean <a href="#" hx-get="${SEARCH_RESULTS_PATH}?q=${encodeURIComponent(result.suggestion)}" hx-target="#search-results">${result.suggestion}</a>?</p>`
        : null;

    if (!result.items.length) {
        return html`${summary}${suggestion}`;
    }

    return html`${summary}${suggestion}
<table class="data">
  <thead><tr><th scope="col">#</th><th scope="col">Rank</th><th scope="col">Resource</th><th scope="col">Snippet</th></tr></thead>
  <tbody>
${result.items.map((hit, index) => html`    <tr>
      <td class="num">${page.offset + index + 1}</td>
      <td class="num">${Number.isFinite(hit.rank) ? formatRank(hit.rank) : '—'}</td>
      <td><strong>${titleOf(hit.resource)}</strong>${hit.resource.id ? html`<br><code class="muted">${hit.resource.id}</code>` : null}</td>
      <td class="snippet">${sanitizeSnippet(hit.snippet)}</td>
    </tr>
`)}  </tbody>
</table>${pager(query, result, page)}`;
}

export const searchTryoutRoutes: ServerRoute[] = [
    {
        method: 'GET',
        path: SEARCH_PANEL.path,
        options: {
            auth: ADMIN_STRATEGY,
            handler(request, h) {

                const body = searchAvailable(request)
                    ? html`<p class="muted">Engine: ${badge(request.server.search.engine)}. The same query language as <code>GET /search</code>.</p>${searchForm()}`
                    : unavailable();
                return h.response(body.value).type('text/html');
            }
        }
    },
    {
        method: 'GET',
        path: SEARCH_RESULTS_PATH,
        options: {
            auth: ADMIN_STRATEGY,
            validate: {
                query: Joi.object({
                    q: Joi.string().trim().min(1).max(MAX_QUERY_LENGTH).required()
                        .messages({ 'any.required': 'Type a query', 'string.empty': 'Type a query' }),
                    limit: Joi.number().integer().min(1).max(50).default(10),
                    offset: Joi.number().integer().min(0).max(1_000_000).default(0)
                })
            },
            async handler(request, h) {

                if (!searchAvailable(request)) {
                    return h.response(unavailable().value).type('text/html').code(503);
                }

                const { q, limit, offset } = request.query as { q: string; limit: number; offset: number };
                const started = process.hrtime.bigint();
                // The same service as GET /search: a query it cannot read is the same 400,
                // shown by the console as an error fragment.
                const result = await request.server.search.search({ query: q, limit, offset, knex: request.knex });
                const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
                return h.response(resultsFragment(q, result, elapsed, { limit, offset }).value).type('text/html');
            }
        }
    }
];
