// maintenance: the library read-only on request. Writes to the REST API
// (POST, PUT, PATCH, DELETE on the api plugin's routes) answer 503 with
// Retry-After while the switch in the database is on; reads, the console and
// the ops routes keep working (an operator must be able to turn it off, and a
// data migration to run).

import Boom from '@hapi/boom';
import type { Plugin, Request, ResponseToolkit } from '@hapi/hapi';

import { MaintenanceSwitch } from '../../server/maintenance';
import { registerRoutes } from './routes';

const WRITES = new Set(['post', 'put', 'patch', 'delete']);
// The plugin whose routes are the library's data.
const GUARDED_PLUGIN = 'api';

export const plugin: Plugin<Record<string, never>> = {
    name: 'maintenance',
    dependencies: ['db-engine', 'admin-auth'],
    register(server) {

        const maintenance = new MaintenanceSwitch(server.knex);
        server.expose('switch', maintenance);
        registerRoutes(server, maintenance);

        server.ext('onPreHandler', async (request: Request, h: ResponseToolkit) => {

            if (!WRITES.has(request.method) || request.route.realm.plugin !== GUARDED_PLUGIN) {
                return h.continue;
            }

            const state = await maintenance.current();
            if (!state.enabled) {
                return h.continue;
            }

            const error = Boom.serverUnavailable(state.message, { reason: 'maintenance' });
            error.output.headers['Retry-After'] = String(state.retryAfterSeconds);
            throw error;
        });
    }
};
