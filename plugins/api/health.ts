// GET /health: liveness plus a database round trip.

import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';

import { documented } from '../../server/openapi';
import { healthSchema } from './response-schemas';

export const healthRoutes: ServerRoute[] = [
    {
        method: 'GET',
        path: '/health',
        options: {
            tags: ['api', 'health'],
            // Load balancers probe it without credentials, whatever API_AUTH says.
            auth: false,
            description: 'Liveness and database reachability',
            plugins: documented({
                responses: {
                    200: { description: 'The server and its database answer', schema: healthSchema },
                    503: { description: 'The database does not answer (status "degraded")', schema: healthSchema }
                }
            }),
            async handler(request: Request, h: ResponseToolkit) {

                const started = process.hrtime.bigint();
                const database: Record<string, unknown> = { type: request.server.db.type };
                try {
                    await request.knex.raw('SELECT 1');
                    database.reachable = true;
                    database.latency_ms = Number(process.hrtime.bigint() - started) / 1e6;
                }
                catch {
                    database.reachable = false;
                }

                const healthy = database.reachable === true;
                return h.response({ status: healthy ? 'ok' : 'degraded', uptime_s: Math.round(process.uptime()), database })
                    .code(healthy ? 200 : 503);
            }
        }
    }
];
