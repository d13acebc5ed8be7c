// Full HTML pages of the console: the shell around a panel, the login page
// and error pages. Everything is built with html`` so every value is escaped.

import type { ConsolePanel } from '../../server/console/panel';
import { alert } from '../../server/console/fragments';
import { html, type Html } from '../../server/html';

export const ASSETS_PATH = '/console/assets';
export const LOGIN_PATH = '/console/login';
export const LOGOUT_PATH = '/console/logout';

export interface PageContext {
    /** NODE_ENV, shown so nobody mistakes production for a test instance. */
    env: string;
    /** sqlite or postgres. */
    dialect: string;
}

interface LayoutOptions {
    title: string;
    context: PageContext;
    csrfToken?: string | undefined;
    header?: Html;
    body: Html;
    bodyClass?: string;
}

function layout({ title, context, csrfToken, header, body, bodyClass }: LayoutOptions): Html {

    return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorCSS": false, "history": false}'>
${csrfToken ? html`<meta name="csrf-token" content="${csrfToken}">` : null}
<title>${title} · Neo Alexandria console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS_PATH}/uplot/uPlot.min.css">
<link rel="stylesheet" href="${ASSETS_PATH}/console.css">
<script src="${ASSETS_PATH}/htmx.min.js" defer></script>
<script src="${ASSETS_PATH}/uplot/uPlot.iife.min.js" defer></script>
<script src="${ASSETS_PATH}/console.js" defer></script>
<script src="${ASSETS_PATH}/charts.js" defer></script>
</head>
<body class="${bodyClass ?? ''}">
<header class="topbar">
  <a class="brand" href="/console">Neo Alexandria <span class="brand-sub">ops console</span></a>
  <span class="badge badge-${context.env === 'production' ? 'warn' : 'muted'}" title="Environment">${context.env}</span>
  <span class="badge badge-muted" title="Database">${context.dialect}</span>
  ${header ?? null}
</header>
<div id="console-status" class="status-banner" role="status" hidden></div>
${body}
</body>
</html>
`;
}

export interface ShellOptions {
    context: PageContext;
    panels: readonly ConsolePanel[];
    active: ConsolePanel;
    csrfToken?: string | undefined;
}

/** The console with its navigation and one panel, whose body htmx loads (and refreshes) from the panel's route. */
export function shellPage({ context, panels, active, csrfToken }: ShellOptions): Html {

    const logout = html`<form class="logout" method="post" action="${LOGOUT_PATH}">
    ${csrfToken ? html`<input type="hidden" name="crumb" value="${csrfToken}">` : null}
    <button class="btn btn-quiet btn-small" type="submit">Log out</button>
  </form>`;

    const nav = html`<nav class="sidenav" aria-label="Panels">
  <ul>
${panels.map((panel) => html`    <li><a href="/console/${panel.id}"${panel.id === active.id ? html` aria-current="page"` : null}>${panel.title}</a></li>
`)}  </ul>
</nav>`;

    const refresh = active.refreshSeconds
        ? html`<span class="refresh-note">Refreshes every ${active.refreshSeconds} s, paused while this tab is hidden</span>`
        : null;

    const body = html`<div class="layout">
${nav}
<main class="main" id="main">
  <section class="panel" id="panel-${active.id}" aria-labelledby="panel-title">
    <header class="panel-head">
      <h1 id="panel-title">${active.title}</h1>
      ${refresh}
      <button class="btn btn-small" type="button" data-refresh-target="#panel-body">Refresh</button>
    </header>
    <div id="panel-body" class="panel-body" data-panel="${active.id}"
         hx-get="${active.path}" hx-trigger="load, console:refresh"${active.refreshSeconds ? html` data-refresh-seconds="${active.refreshSeconds}"` : null}
         hx-swap="innerMorph" aria-live="polite">
      <p class="muted">Loading…</p>
    </div>
  </section>
</main>
</div>`;

    return layout({ title: active.title, context, csrfToken, header: logout, body });
}

export interface LoginOptions {
    context: PageContext;
    csrfToken?: string | undefined;
    next?: string | undefined;
    message?: Html | undefined;
}

export function loginPage({ context, csrfToken, next, message }: LoginOptions): Html {

    const body = html`<main class="login">
  <form class="card login-card" method="post" action="${LOGIN_PATH}">
    <h1>Log in</h1>
    <p class="muted">Enter the admin token (ADMIN_TOKEN) of this server.</p>
    ${message ?? null}
    ${csrfToken ? html`<input type="hidden" name="crumb" value="${csrfToken}">` : null}
    ${next ? html`<input type="hidden" name="next" value="${next}">` : null}
    <label for="token">Admin token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required autofocus spellcheck="false">
    <button class="btn btn-primary" type="submit">Log in</button>
  </form>
</main>`;

    return layout({ title: 'Log in', context, body, bodyClass: 'page-login' });
}

export interface ErrorPageOptions {
    context: PageContext;
    statusCode: number;
    title: string;
    message: string;
    /** Offer a way back into the console (not when it is disabled). */
    links?: boolean;
}

export function errorPage({ context, statusCode, title, message, links = true }: ErrorPageOptions): Html {

    const body = html`<main class="login">
  <div class="card">
    <h1>${statusCode} ${title}</h1>
    ${alert(statusCode >= 500 ? 'error' : 'warning', message)}
    ${links ? html`<p><a href="/console">Back to the console</a></p>` : null}
  </div>
</main>`;

    return layout({ title, context, body, bodyClass: 'page-error' });
}

/** The fragment htmx swaps into a panel when its request failed. */
export function errorFragment(statusCode: number, message: string): Html {

    return alert(statusCode >= 500 ? 'error' : 'warning', html`<strong>${statusCode}</strong> ${message}`);
}
