// Panels used only by the browser tests, following the panel contract like a
// real plugin: "ticker" is polled by the shell every second; "probe" has a
// POST action. Together they exercise the shell's polling, pause-while-hidden
// and CSRF header the way other plugins' panels will use them.

import type { Plugin } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY } from '../../server/auth';
import { alert } from '../../server/console/fragments';
import { CONSOLE_PANELS, type ConsolePanel } from '../../server/console/panel';
import { html } from '../../server/html';

export const PROBE_PANEL: ConsolePanel = { id: 'probe', title: 'Probe <test>', order: 98, path: '/console/panels/probe' };
export const TICKER_PANEL: ConsolePanel = { id: 'ticker', title: 'Ticker', order: 99, path: '/console/panels/ticker', refreshSeconds: 1 };
/** Polls so rarely that a refresh within seconds can only come from the tab being shown again. */
export const HOURLY_PANEL: ConsolePanel = { id: 'hourly', title: 'Hourly', order: 100, path: '/console/panels/hourly', refreshSeconds: 3600 };

export interface ProbeState {
    /** GETs of the ticker fragment so far (polling). */
    tickerRequests: number;
    /** GETs of the hourly fragment so far. */
    hourlyRequests?: number;
    /** Notes accepted by the POST action. */
    notes: string[];
}

export function probePlugin(state: ProbeState): Plugin<void> {

    return {
        name: 'browser-test-probe',
        register(server) {

            server.route([
                {
                    method: 'GET',
                    path: PROBE_PANEL.path,
                    options: {
                        auth: ADMIN_STRATEGY,
                        handler(_request, h) {

                            return h.response(html`<form hx-post="/console/panels/probe/notes" hx-target="#probe-result">
  <label for="probe-note">Note</label>
  <input id="probe-note" name="note" type="text">
  <button class="btn btn-primary" type="submit">Save note</button>
</form>
<div id="probe-result"></div>`.value).type('text/html');
                        }
                    }
                },
                {
                    method: 'POST',
                    path: '/console/panels/probe/notes',
                    options: {
                        auth: ADMIN_STRATEGY,
                        validate: { payload: Joi.object({ note: Joi.string().max(200).required() }) },
                        handler(request, h) {

                            const { note } = request.payload as { note: string };
                            state.notes.push(note);
                            return h.response(alert('success', html`Saved note ${note}`).value).type('text/html');
                        }
                    }
                }
            ]);

            server.route({
                method: 'GET',
                path: TICKER_PANEL.path,
                options: {
                    auth: ADMIN_STRATEGY,
                    handler(_request, h) {

                        ++state.tickerRequests;
                        return h.response(html`<p>Tick <span id="tick">${state.tickerRequests}</span></p>`.value).type('text/html');
                    }
                }
            });

            server.route({
                method: 'GET',
                path: HOURLY_PANEL.path,
                options: {
                    auth: ADMIN_STRATEGY,
                    handler(_request, h) {

                        state.hourlyRequests = (state.hourlyRequests ?? 0) + 1;
                        return h.response(html`<p>Hourly <span id="hourly">${state.hourlyRequests}</span></p>`.value).type('text/html');
                    }
                }
            });

            server.expose(CONSOLE_PANELS, [PROBE_PANEL, TICKER_PANEL, HOURLY_PANEL]);
        }
    };
}
