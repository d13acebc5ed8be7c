// The `admin` auth strategy every ops route uses. It accepts either a bearer
// token compared in constant time with ADMIN_TOKEN (scripts), or a console
// login session (the browser; CSRF is then checked by server/csrf.ts). Without
// a configured token, ops routes are refused with a message that says how to
// enable them.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import Boom from '@hapi/boom';
import type { Plugin, Request, ResponseToolkit } from '@hapi/hapi';

import { SessionStore, type ConsoleSession } from './console/sessions';

export const ADMIN_STRATEGY = 'admin';

/** The @hapi/cookie strategy the admin strategy consults for browser sessions. */
export const SESSION_STRATEGY = 'admin-session';
export const SESSION_COOKIE = 'na_console';

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

/** What an authenticated admin request carries in request.auth.credentials. */
export interface AdminCredentials {
    role: 'admin';
    via: 'bearer' | 'session';
    sessionId?: string;
}

export function adminCredentials(request: Request): AdminCredentials | null {

    const credentials = request.auth?.credentials as Partial<AdminCredentials> | null | undefined;
    return request.auth?.isAuthenticated && credentials?.role === 'admin' ? credentials as AdminCredentials : null;
}

export interface AdminSessionOptions {
    ttlMs: number;
    secureCookies: boolean;
}

export interface AdminAuthOptions {
    token: string | null;
    /** Console login sessions (needs @hapi/cookie registered first); omit for bearer only. */
    session?: AdminSessionOptions | null;
}

/** Starts and ends console login sessions (decorated as server.adminSessions). */
export interface AdminSessions {
    /** Creates a session and sets its cookie on the response. */
    start(request: Request): ConsoleSession;
    /** Forgets the request's session and clears its cookie. */
    end(request: Request): void;
}

interface SessionCookie {
    sid?: unknown;
}

export const adminAuth: Plugin<AdminAuthOptions> = {
    name: 'admin-auth',
    register(server, { token, session }) {

        const sessions = token && session ? new SessionStore({ ttlMs: session.ttlMs }) : null;

        if (sessions) {
            server.auth.strategy(SESSION_STRATEGY, 'cookie', {
                cookie: {
                    name: SESSION_COOKIE,
                    // Sessions live in this process's memory, so a per-process key loses nothing.
                    password: randomBytes(32).toString('hex'),
                    path: '/',
                    ttl: sessions.ttlMs,
                    isSecure: session!.secureCookies,
                    isHttpOnly: true,
                    isSameSite: 'Strict',
                    clearInvalid: true
                },
                validate(_request: Request, cookie: SessionCookie) {

                    const live = sessions.get(cookie?.sid);
                    if (!live) {
                        return { isValid: false };
                    }

                    const credentials: AdminCredentials = { role: 'admin', via: 'session', sessionId: live.id };
                    return { isValid: true, credentials };
                }
            });
        }

        server.auth.scheme('admin-token', () => ({
            async authenticate(request: Request, h: ResponseToolkit) {

                if (!token) {
                    throw Boom.forbidden(ADMIN_DISABLED_MESSAGE);
                }

                // An Authorization header always wins: a script's bad token is
                // refused even when the same browser also holds a session.
                if (request.headers.authorization !== undefined) {
                    const presented = bearerToken(request);
                    if (!presented) {
                        throw Boom.unauthorized('Admin token required: send "Authorization: Bearer <ADMIN_TOKEN>"', 'Bearer');
                    }

                    if (!tokenMatches(presented, token)) {
                        throw Boom.unauthorized('Invalid admin token', 'Bearer');
                    }

                    const credentials: AdminCredentials = { role: 'admin', via: 'bearer' };
                    return h.authenticated({ credentials });
                }

                if (sessions && request.state[SESSION_COOKIE] !== undefined) {
                    try {
                        const { credentials } = await request.server.auth.test(SESSION_STRATEGY, request);
                        return h.authenticated({ credentials });
                    }
                    catch {
                        throw Boom.unauthorized('Your console session has expired or was ended: log in again', 'Bearer');
                    }
                }

                throw Boom.unauthorized('Admin token required: send "Authorization: Bearer <ADMIN_TOKEN>" or log in to the console', 'Bearer');
            }
        }));

        server.auth.strategy(ADMIN_STRATEGY, 'admin-token');
        server.decorate('server', 'adminTokenConfigured', () => token !== null);
        server.decorate('server', 'verifyAdminToken', (candidate: string) => token !== null && typeof candidate === 'string' && tokenMatches(candidate, token));

        if (sessions) {
            const adminSessions: AdminSessions = {
                start(request) {

                    const created = sessions.create();
                    request.cookieAuth.set({ sid: created.id });
                    return created;
                },
                end(request) {

                    sessions.revoke(adminCredentials(request)?.sessionId);
                    sessions.revoke((request.state[SESSION_COOKIE] as SessionCookie | undefined)?.sid);
                    request.cookieAuth.clear();
                }
            };
            server.decorate('server', 'adminSessions', adminSessions);
        }
    }
};
