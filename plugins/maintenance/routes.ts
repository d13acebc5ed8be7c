// GET and POST /ops/maintenance (admin only; a console session also needs
// its CSRF token, which crumb checks for every session-authenticated POST).

import type { Server } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY, adminCredentials } from '../../server/auth';
import type { MaintenanceSwitch } from '../../server/maintenance';
import { documented } from '../../server/openapi';
import { responseObject, timestamp } from '../../server/openapi/schema';

const maintenanceStateSchema = responseObject('MaintenanceState', {
    enabled: Joi.boolean().description('True: API writes answer 503 with Retry-After'),
    message: Joi.string().allow('').description('What writers are told'),
    retryAfterSeconds: Joi.number().integer().min(1),
    changedBy: Joi.string().allow(null),
    changedAt: timestamp.allow(null)
});

export const maintenancePayload = Joi.object({
    enabled: Joi.boolean().required(),
    message: Joi.string().trim().max(500).allow('', null),
    retryAfterSeconds: Joi.number().integer().min(1).max(86_400).default(300)
}).label('MaintenanceChange');

export function registerRoutes(server: Server, maintenance: MaintenanceSwitch): void {

    const auth = { strategy: ADMIN_STRATEGY };
    server.route([
        {
            method: 'GET',
            path: '/ops/maintenance',
            options: {
                auth,
                tags: ['api', 'ops'],
                description: 'Whether the library is read-only (maintenance mode)',
                plugins: documented({ responses: { 200: { description: 'The switch', schema: maintenanceStateSchema } } })
            },
            handler: () => maintenance.current()
        },
        {
            method: 'POST',
            path: '/ops/maintenance',
            options: {
                auth,
                tags: ['api', 'ops'],
                description: 'Turn maintenance mode on or off: while on, writes answer 503 with Retry-After on every instance within a second',
                validate: { payload: maintenancePayload },
                plugins: documented({ responses: { 200: { description: 'The switch as it is now', schema: maintenanceStateSchema } } })
            },
            handler: (request) => {

                const payload = request.payload as { enabled: boolean; message?: string | null; retryAfterSeconds: number };
                const via = adminCredentials(request)?.via ?? 'admin';
                return maintenance.set({ enabled: payload.enabled, message: payload.message || null, retryAfterSeconds: payload.retryAfterSeconds, changedBy: `admin (${via})` });
            }
        }
    ]);
}
