// How a plugin contributes a panel to the ops console (plugins/console).
//
// A plugin that has a panel:
//   1. registers its own routes that return HTML fragments (built with
//      server/html.ts), under /console/panels/<id>, with auth: ADMIN_STRATEGY
//      (the console lets its logged-in session through that strategy);
//      actions are POST routes under the same prefix and return fragments;
//   2. exposes the panel's description: server.expose(CONSOLE_PANELS, [panel]).
// The console shell collects every exposed panel when the server starts, so
// plugins never import the console and load in any order.

export const CONSOLE_PANELS = 'consolePanels';

export interface ConsolePanel {
    /** Stable id, also the last segment of the fragment path. */
    id: string;
    /** Title in the console navigation. */
    title: string;
    /** Position in the navigation (lower first). */
    order: number;
    /** GET route of the panel's HTML fragment. */
    path: string;
    /** Seconds between automatic refreshes while the tab is visible (omit for no polling). */
    refreshSeconds?: number;
}
