// GET /health: liveness plus a database round trip, and the role of each
// database the server uses (a primary that turned out a standby cannot write).

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
                    503: { description: 'The database does not answer, or is a read-only standby (status "degraded")', schema: healthSchema }
                }
            }),
            async handler(request: Request, h: ResponseToolkit) {

                const started = process.hrtime.bigint();
                const database: Record<string, unknown> = { type: request.server.db.type };
                const { db, replicas } = request.server;
                try {
                    await request.knex.raw('SELECT 1');
                    database.reachable = true;
                    database.latency_ms = Number(process.hrtime.bigint() - started) / 1e6;
                    database.role = await db.dialect.isStandby(request.knex) ? 'standby' : 'primary';
                }
                catch {
                    database.reachable = false;
                }

                // As last sampled (every second at most); no addresses on this public route.
                const replicaHealth = replicas.status().map((status) => ({
                    role: status.role,
                    in_rotation: status.inRotation,
                    state: status.state,
                    lag_seconds: status.lagSeconds
                }));
                const healthy = database.reachable === true && database.role === 'primary';
                return h.response({ status: healthy ? 'ok' : 'degraded', uptime_s: Math.round(process.uptime()), database, ...(replicaHealth.length ? { replicas: replicaHealth } : {}) })
                    .code(healthy ? 200 : 503);
            }
        }
    }
];
