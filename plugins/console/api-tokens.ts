// The API tokens panel: create a named token (shown once), see when each was
// last used, revoke one. The same module as `npm run api-tokens`
// (server/security/api-tokens.ts); only digests are stored.

import Boom from '@hapi/boom';
import type { Request, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY } from '../../server/auth';
import { alert, badge } from '../../server/console/fragments';
import { formatTimestamp } from '../../server/console/format';
import type { ConsolePanel } from '../../server/console/panel';
import { html, type Html } from '../../server/html';
import { ApiTokenError, createApiToken, listApiTokens, revokeApiToken, TOKEN_NAME_MAX, type ApiToken } from '../../server/security/api-tokens';

export const API_TOKENS_PANEL: ConsolePanel = { id: 'api-tokens', title: 'API tokens', order: 70, path: '/console/panels/api-tokens' };

function tokenRow(token: ApiToken): Html {

    const state = token.revokedAt ? badge(`revoked ${formatTimestamp(token.revokedAt)}`, 'muted') : badge('active', 'ok');
    return html`    <tr>
      <td><strong>${token.name}</strong></td>
      <td><code>${token.hint}…</code></td>
      <td>${formatTimestamp(token.createdAt)}</td>
      <td>${token.lastUsedAt ? formatTimestamp(token.lastUsedAt) : html`<span class="muted">never</span>`}</td>
      <td>${state}</td>
      <td class="actions">${token.revokedAt ? null : html`<form hx-post="${API_TOKENS_PANEL.path}/revoke" hx-target="#panel-body" hx-confirm="Revoke the API token ${token.name}? Clients using it are refused from then on.">
        <input type="hidden" name="id" value="${token.id}">
        <button class="btn btn-danger btn-small" type="submit">Revoke</button>
      </form>`}</td>
    </tr>
`;
}

async function panel(request: Request, message?: Html): Promise<Html> {

    const tokens = await listApiTokens(request.knex);
    const mode = request.server.config.auth.apiAuth;
    const table = tokens.length
        ? html`<table class="data">
  <thead><tr><th scope="col">Name</th><th scope="col">Token</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">State</th><th scope="col"></th></tr></thead>
  <tbody>
${tokens.map(tokenRow)}  </tbody>
</table>`
        : html`<p class="muted">No API tokens yet.</p>`;

    return html`${message ?? null}
<p class="muted">API_AUTH is ${badge(mode, mode === 'off' ? 'warn' : 'ok')}: ${mode === 'off' ? 'the data API needs no token.' : mode === 'writes' ? 'writes to the data API need a token; reads do not.' : 'every data API request needs a token.'}
Clients send <code>Authorization: Bearer &lt;token&gt;</code>.</p>
${table}
<form class="actions" hx-post="${API_TOKENS_PANEL.path}/create" hx-target="#panel-body">
  <div class="form-row"><label>Name of a new token
    <input name="name" required maxlength="${TOKEN_NAME_MAX}" placeholder="catalogue-importer" autocomplete="off" spellcheck="false">
  </label></div>
  <button class="btn btn-primary" type="submit">Create token</button>
</form>`;
}

function refused(error: unknown): never {

    if (error instanceof ApiTokenError) {
        throw error.reason === 'not-found' ? Boom.notFound(error.message) : error.reason === 'conflict' ? Boom.conflict(error.message) : Boom.badRequest(error.message);
    }

    throw error;
}

export const apiTokenRoutes: ServerRoute[] = [
    {
        method: 'GET',
        path: API_TOKENS_PANEL.path,
        options: {
            auth: ADMIN_STRATEGY,
            handler: async (request, h) => h.response((await panel(request)).value).type('text/html')
        }
    },
    {
        method: 'POST',
        path: `${API_TOKENS_PANEL.path}/create`,
        options: {
            auth: ADMIN_STRATEGY,
            validate: { payload: Joi.object({ name: Joi.string().allow('').max(1000).required() }) },
            async handler(request, h) {

                const created = await createApiToken(request.knex, (request.payload as { name: string }).name).catch(refused);
                const shown = alert('success', html`Created <strong>${created.token.name}</strong>. Copy the token now: it is shown only this once.
<pre class="output">${created.secret}</pre>`);
                // The token must not stay in any cache or history.
                return h.response((await panel(request, shown)).value).type('text/html').header('Cache-Control', 'no-store');
            }
        }
    },
    {
        method: 'POST',
        path: `${API_TOKENS_PANEL.path}/revoke`,
        options: {
            auth: ADMIN_STRATEGY,
            validate: { payload: Joi.object({ id: Joi.string().guid().required() }) },
            async handler(request, h) {

                const revoked = await revokeApiToken(request.knex, (request.payload as { id: string }).id).catch(refused);
                const message = alert('success', html`Revoked <strong>${revoked.name}</strong>: it is refused from now on.`);
                return h.response((await panel(request, message)).value).type('text/html');
            }
        }
    }
];
