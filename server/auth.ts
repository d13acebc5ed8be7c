// The `admin` auth strategy every ops route uses: a bearer token compared in
// constant time with ADMIN_TOKEN. Without a configured token, ops routes are
// refused with a message that says how to enable them.

import { createHash, timingSafeEqual } from 'node:crypto';
import Boom from '@hapi/boom';
import type { Plugin, Request, ResponseToolkit } from '@hapi/hapi';

export const ADMIN_STRATEGY = 'admin';

export const ADMIN_DISABLED_MESSAGE =
    'Ops routes are disabled because ADMIN_TOKEN is not set. Set ADMIN_TOKEN (16 characters or more) in the environment and restart.';

/** Constant-time comparison of a presented token with the configured one. */
export function tokenMatches(candidate: string, expected: string): boolean {

    // Hashing first gives equal lengths, so timingSafeEqual leaks nothing about the length.
    const a = createHash('sha256').update(candidate, 'utf8').digest();
    const b = createHash('sha256').update(expected, 'utf8').digest();
    return timingSafeEqual(a, b);
}

export function bearerToken(request: Request): string | null {

    const match = /^Bearer[ \t]+(\S+)\s*$/i.exec(String(request.headers.authorization ?? ''));
    return match ? match[1]! : null;
}

export interface AdminAuthOptions {
    token: string | null;
}

export const adminAuth: Plugin<AdminAuthOptions> = {
    name: 'admin-auth',
    register(server, { token }) {

        server.auth.scheme('admin-token', () => ({
            authenticate(request: Request, h: ResponseToolkit) {

                if (!token) {
                    throw Boom.forbidden(ADMIN_DISABLED_MESSAGE);
                }

                const presented = bearerToken(request);
                if (!presented) {
                    throw Boom.unauthorized('Admin token required: send "Authorization: Bearer <ADMIN_TOKEN>"', 'Bearer');
                }

                if (!tokenMatches(presented, token)) {
                    throw Boom.unauthorized('Invalid admin token', 'Bearer');
                }

                return h.authenticated({ credentials: { role: 'admin', via: 'bearer' } });
            }
        }));

        server.auth.strategy(ADMIN_STRATEGY, 'admin-token');
        server.decorate('server', 'adminTokenConfigured', () => token !== null);
        server.decorate('server', 'verifyAdminToken', (candidate: string) => token !== null && typeof candidate === 'string' && tokenMatches(candidate, token));
    }
};
