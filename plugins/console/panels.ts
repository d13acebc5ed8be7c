// Collects the panels every plugin exposed under CONSOLE_PANELS and checks
// them, so a panel with a typo, a clashing id or an unprotected route stops
// the start instead of showing up broken (or open) in the console.

import type { Server } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY } from '../../server/auth';
import { CONSOLE_PANELS, type ConsolePanel } from '../../server/console/panel';

export const PANEL_PATH_PREFIX = '/console/panels/';

/** Ids that would clash with the console's own pages under /console/<id>. */
export const RESERVED_PANEL_IDS = ['login', 'logout', 'panels', 'assets'];

export class PanelContractError extends Error {

    constructor(message: string) {

        super(message);
        this.name = 'PanelContractError';
    }
}

const panelSchema = Joi.object({
    id: Joi.string().pattern(/^[a-z][a-z0-9-]{0,39}$/).invalid(...RESERVED_PANEL_IDS).required(),
    title: Joi.string().trim().min(1).max(60).required(),
    order: Joi.number().required(),
    path: Joi.string().pattern(/^\/console\/panels\/[a-z0-9][a-z0-9/_-]*$/).required(),
    refreshSeconds: Joi.number().min(1).max(3600)
});

function routeIsAdminOnly(server: Server, path: string): boolean {

    const route = server.match('GET', path);
    if (!route) {
        return false;
    }

    const auth = route.settings.auth;
    return Boolean(auth && auth.mode === 'required' && auth.strategies?.length === 1 && auth.strategies[0] === ADMIN_STRATEGY);
}

/** Every exposed panel, validated, sorted by order then title. Throws PanelContractError. */
export function collectPanels(server: Server): ConsolePanel[] {

    const panels: ConsolePanel[] = [];
    const owners = new Map<string, string>();

    for (const [pluginName, properties] of Object.entries(server.plugins as unknown as Record<string, Record<string, unknown> | undefined>)) {
        const exposed = properties?.[CONSOLE_PANELS];
        if (exposed === undefined) {
            continue;
        }

        if (!Array.isArray(exposed)) {
            throw new PanelContractError(`Plugin "${pluginName}" exposes ${CONSOLE_PANELS} that is not an array of panels`);
        }

        for (const candidate of exposed) {
            const { value, error } = panelSchema.validate(candidate, { abortEarly: true, convert: false });
            if (error) {
                throw new PanelContractError(`Plugin "${pluginName}" exposes an invalid console panel: ${error.message}`);
            }

            const panel = value as ConsolePanel;
            const owner = owners.get(panel.id);
            if (owner) {
                throw new PanelContractError(`Console panel id "${panel.id}" is exposed by both "${owner}" and "${pluginName}"`);
            }

            if (!routeIsAdminOnly(server, panel.path)) {
                throw new PanelContractError(
                    `Console panel "${panel.id}" of plugin "${pluginName}": GET ${panel.path} must be a route with auth: '${ADMIN_STRATEGY}' (required)`);
            }

            owners.set(panel.id, pluginName);
            panels.push({ ...panel });
        }
    }

    return panels.sort((a, b) => a.order - b.order || a.title.localeCompare(b.title));
}
