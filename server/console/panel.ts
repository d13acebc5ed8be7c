// How a plugin contributes a panel to the ops console (plugins/console).
//
// A plugin that has a panel:
//   1. registers its own routes that return HTML fragments (built with
//      server/html.ts), under /console/panels/<id>, with auth: ADMIN_STRATEGY
//      (the console lets its logged-in session through that strategy);
//      actions are POST routes under the same prefix and return fragments;
//   2. exposes the panel's description: server.expose(CONSOLE_PANELS, [panel]).
// The console shell collects every exposed panel when the server starts, so
// plugins never import the console and load in any order. A panel that breaks
// the contract (bad id, clashing id, GET route missing or not admin-only)
// stops the start with a message naming the plugin.
//
// What the shell does for a panel, and what a fragment may rely on:
//   - The shell page /console/<id> GETs `path` with htmx (header HX-Request:
//     true) and swaps the response into the panel body (innerHTML). Return
//     only the body: no <html>, no title (the shell shows `title`).
//   - refreshSeconds re-GETs `path` on that interval while the tab is visible,
//     pauses while it is hidden and refreshes at once when shown again. The
//     shell morphs the new body into the old one (hx-swap="innerMorph"), so
//     what the user typed into an input survives a refresh or the Refresh
//     button; an input whose value attribute changes takes the new value.
//     A panel with a form should still leave refreshSeconds unset and poll a
//     part of its fragment instead: <div hx-get="…" hx-trigger="console:refresh"
//     data-refresh-seconds="1"> (the same visibility-aware timer; plain
//     `hx-trigger="every 2s"` also works but keeps polling in hidden tabs).
//   - Forms: post with hx-target on a result element, not on the form, so
//     the form keeps its values after a run; send controls that must change
//     with the result (buttons disabled while a job runs) out of band
//     (hx-swap-oob="true" on an element with the same id).
//   - CSRF: htmx requests other than GET carry the X-CSRF-Token header (set by
//     the shell). Plain <form method="post"> without htmx must include
//     <input type="hidden" name="crumb" value="${request.plugins.crumb}"> and
//     opt in with route option plugins: { crumb: { restful: false } }.
//     Bearer-token calls (scripts) need no CSRF token, so the same POST
//     routes serve as the JSON/scripting API where that makes sense.
//   - Errors: a Boom error from any /console route becomes an HTML fragment
//     (<div class="alert …">) that htmx swaps in, keeping the status code
//     (htmx 4 swaps 4xx/5xx). An ended session sends the browser to the login
//     form (HX-Redirect). Use hx-status:<code> to put an error elsewhere.
//   - Content-Security-Policy: scripts and styles only from this server, no
//     inline scripts, no eval. So no hx-on:*, no trigger filters (`click[…]`),
//     no `js:` values, no style="" attributes; use <progress>/<meter> for bars.
//     hx-confirm (window.confirm) is fine.
//   - Look: reuse the classes of public/console/console.css (and the builders
//     in server/console/fragments.ts): .alert(-error|-warning|-success|-info)
//     for results and status, .badge(-ok|-info|-warn|-error|-muted), dl.facts,
//     table.data (td.num for figures), .btn(.btn-primary|.btn-danger|
//     .btn-small|.btn-quiet), form.form with div.field (label, input, p.hint;
//     .field-narrow in a .form-row), fieldset.checks with label.check for
//     checkboxes, .actions for a row of buttons, .muted, pre.output,
//     code.sql, .spinner(.htmx-indicator). No heading repeating the panel's
//     title (the shell shows it), no placeholder that looks like a value (a
//     p.hint says "For example …"). Figures are formatted with
//     server/console/format.ts.
//   - Suggested order values: overview 0, pool 10, queries 20, schema
//     migrations 30, data migration 40, backups 50, search 60, API tokens 70.

export const CONSOLE_PANELS = 'consolePanels';

export interface ConsolePanel {
    /** Stable id (a-z, 0-9, dashes; not login/logout/panels/assets): the page is /console/<id>. */
    id: string;
    /** Title in the console navigation and above the panel. */
    title: string;
    /** Position in the navigation (lower first). */
    order: number;
    /** GET route of the panel's HTML fragment, under /console/panels/. */
    path: string;
    /** Seconds between automatic refreshes while the tab is visible (omit for no polling). */
    refreshSeconds?: number;
}
