// The auth strategies. `admin` (every ops route) accepts either a bearer token
// compared in constant time with ADMIN_TOKEN (scripts), or a console login
// session (the browser; CSRF is then checked by server/csrf.ts). `api` (the
// data API when API_AUTH asks for it) accepts an API token or ADMIN_TOKEN.
// Every credential check goes through one gate: the database failure
// throttle (server/security/throttle.ts) with device cookies, keyed by the
// client address seen through TRUST_PROXY. Without a configured admin token,
// ops routes are refused with a message that says how to enable them.

import Boom from '@hapi/boom';
import type { Plugin, Request, ResponseToolkit } from '@hapi/hapi';

import type { AuthSettings } from './config';
import { SessionStore, type ConsoleSession } from './console/sessions';
import { verifyApiToken } from './security/api-tokens';
import { deleteExpiredAuthState } from './security/cleanup';
import { addressKey, clientAddress } from './security/client-address';
import { DEVICE_COOKIE, DEVICE_COOKIE_TTL_MS, newDeviceCookie, verifyDeviceCookie } from './security/device-cookie';
import { deriveKey, safeEqual } from './security/secrets';
import { FAILURE_WINDOW_MS, FailureThrottle, MAX_FAILURES, subjectsOf, type AttemptSource } from './security/throttle';
import { AdmissionCounter } from './security/admission';
import { redactSecrets } from './db/url';
import { mapDatabaseError, SCHEMA_OUTDATED } from './errors';

export const ADMIN_STRATEGY = 'admin';
/** The data API's strategy (API_AUTH=writes|all): an API token or the admin token. */
export const API_STRATEGY = 'api';

/** The @hapi/cookie strategy the admin strategy consults for browser sessions. */
export const SESSION_STRATEGY = 'admin-session';
export const SESSION_COOKIE = 'na_console';

export const ADMIN_DISABLED_MESSAGE =
    'Ops routes are disabled because ADMIN_TOKEN is not set. Set ADMIN_TOKEN (16 characters or more) in the environment and restart.';

/** Constant-time comparison of a presented token with the configured one. */
export function tokenMatches(candidate: string, expected: string): boolean {

    return safeEqual(candidate, expected);
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

/** What a request authenticated by an API token carries. */
export interface ApiCredentials {
    role: 'api';
    via: 'api-token';
    tokenId: string;
    tokenName: string;
}

export function adminCredentials(request: Request): AdminCredentials | null {

    const credentials = request.auth?.credentials as Partial<AdminCredentials> | null | undefined;
    return request.auth?.isAuthenticated && credentials?.role === 'admin' ? credentials as AdminCredentials : null;
}

/** The client's address as seen through TRUST_PROXY (the socket peer when no proxy is trusted). */
export function requestAddress(request: Request): string {

    return clientAddress(request.info.remoteAddress, request.headers['x-forwarded-for'] as string | undefined, request.server.config.auth.trustProxy);
}

export interface AdminSessionOptions {
    ttlMs: number;
    secureCookies: boolean;
}

export interface AdminAuthOptions {
    token: string | null;
    auth: AuthSettings;
    secureCookies: boolean;
    /** Console login sessions (needs @hapi/cookie registered first); omit for bearer only. */
    session?: AdminSessionOptions | null;
}

/** Starts and ends console login sessions (decorated as server.adminSessions). */
export interface AdminSessions {
    /** Creates a session and sets its cookie on the response. */
    start(request: Request): Promise<ConsoleSession>;
    /** Ends the request's session on every instance and clears its cookie. */
    end(request: Request): Promise<void>;
}

export type AttemptResult<T> =
    | { outcome: 'accepted'; value: T }
    | { outcome: 'refused' }
    | { outcome: 'throttled'; retryAfter: number };

/** Runs credential checks through the failure throttle (decorated as server.authGate). */
export interface AuthGate {
    /**
     * Checks a credential (`check` returns null when it is wrong) for this
     * request's device and address: a correct one is always accepted; a
     * wrong one is counted, and answered 'throttled' once every subject it
     * comes under has spent its budget.
     * On success a client without a device cookie gets one.
     */
    attempt<T>(request: Request, h: ResponseToolkit, check: () => T | null | Promise<T | null>): Promise<AttemptResult<T>>;
}

/** The 429 an API or ops client gets while the throttle holds it. */
export function throttledError(retryAfter: number): Boom.Boom {

    const error = Boom.tooManyRequests(`Too many wrong tokens from this address: try again in ${retryAfter} s`);
    error.output.headers['Retry-After'] = String(retryAfter);
    return error;
}

interface SessionCookie {
    sid?: unknown;
    /** When the session ends (ms): lets the sealed cookie vouch for it while the sessions table is gone. */
    exp?: unknown;
}

/** True when the schema (the sessions table) is missing: the migrations were rolled back. */
function schemaMissing(error: unknown): boolean {

    return (mapDatabaseError(error)?.data as { reason?: string } | null)?.reason === SCHEMA_OUTDATED;
}

export const adminAuth: Plugin<AdminAuthOptions> = {
    name: 'admin-auth',
    register(server, { token, auth, secureCookies, session }) {

        const knex = () => server.knex;
        const deviceKey = deriveKey(auth.sessionSecret, 'device');
        const throttle = new FailureThrottle(knex, { maxFailures: MAX_FAILURES, windowMs: FAILURE_WINDOW_MS });
        const admission = new AdmissionCounter({ maxFailures: MAX_FAILURES, windowMs: FAILURE_WINDOW_MS });

        server.state(DEVICE_COOKIE, {
            path: '/',
            ttl: DEVICE_COOKIE_TTL_MS,
            isSecure: secureCookies,
            isHttpOnly: true,
            isSameSite: 'Strict',
            encoding: 'none',
            ignoreErrors: true,
            clearInvalid: true
        });

        const gate: AuthGate = {
            async attempt(request, h, check) {

                const device = verifyDeviceCookie(deviceKey, request.state[DEVICE_COOKIE]);
                const source: AttemptSource = { device, address: addressKey(requestAddress(request)) };
                const subjects = subjectsOf(source);
                // The credential is checked first: a correct one is accepted
                // whatever the throttle holds, so someone else's guessing from
                // a shared address never locks the owner out. The throttle
                // answers the wrong ones: within the budget 401, past it 429.
                const slot = admission.reserve(subjects);
                let value: Awaited<ReturnType<typeof check>>;
                try {
                    value = await check();
                }
                catch (error) {
                    if (slot) {
                        admission.release(slot);
                    }

                    throw error;
                }

                if (value !== null) {
                    if (slot) {
                        admission.release(slot);
                    }

                    if (!device) {
                        h.state(DEVICE_COOKIE, newDeviceCookie(deviceKey));
                    }

                    return { outcome: 'accepted', value };
                }

                if (!slot) {
                    request.log(['auth', 'warn'], { message: 'credential refused while throttled', path: request.path, address: source.address, device: Boolean(device), throttled: true });
                    return { outcome: 'throttled', retryAfter: admission.retryAfter(subjects) };
                }

                // Counted in the database too, so other instances and restarts see it.
                let retryAfter = 0;
                try {
                    retryAfter = await throttle.fail(source);
                }
                catch (error) {
                    // The database is down or its schema rolled back: this
                    // instance's count still holds the guesser.
                    request.log(['auth', 'db', 'warn'], { message: 'failure not recorded in the database', error: redactSecrets((error as Error).message) });
                }

                if (retryAfter) {
                    for (const subject of subjects) {
                        admission.lock(subject, Date.now() + retryAfter * 1000);
                    }
                }

                request.log(['auth', 'warn'], { message: 'credential refused', path: request.path, address: source.address, device: Boolean(device), throttled: retryAfter > 0 });
                return retryAfter ? { outcome: 'throttled', retryAfter } : { outcome: 'refused' };
            }
        };
        server.decorate('server', 'authGate', gate);

        const sessions = token && session ? new SessionStore(knex, { ttlMs: session.ttlMs }) : null;

        if (sessions) {
            server.auth.strategy(SESSION_STRATEGY, 'cookie', {
                cookie: {
                    name: SESSION_COOKIE,
                    // The same key on every instance, so any instance opens any session's cookie.
                    password: deriveKey(auth.sessionSecret, 'session-cookie').toString('hex'),
                    path: '/',
                    ttl: sessions.ttlMs,
                    isSecure: session!.secureCookies,
                    isHttpOnly: true,
                    isSameSite: 'Strict',
                    clearInvalid: true
                },
                async validate(_request: Request, cookie: SessionCookie) {

                    let live: ConsoleSession | null;
                    try {
                        live = await sessions.get(cookie?.sid);
                    }
                    catch (error) {
                        // With the migrations rolled back the console must still
                        // be able to apply them again: until then the sealed
                        // cookie alone vouches for its session, until it expires.
                        if (!schemaMissing(error) || typeof cookie?.sid !== 'string' || typeof cookie.exp !== 'number' || cookie.exp <= Date.now()) {
                            throw error;
                        }

                        live = { id: cookie.sid, createdAt: cookie.exp - sessions.ttlMs, expiresAt: cookie.exp };
                    }

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

                    const result = await gate.attempt(request, h, () => tokenMatches(presented, token) ? true : null);
                    if (result.outcome === 'throttled') {
                        throw throttledError(result.retryAfter);
                    }

                    if (result.outcome === 'refused') {
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

        server.auth.scheme('api-token', () => ({
            async authenticate(request: Request, h: ResponseToolkit) {

                const presented = bearerToken(request);
                if (!presented) {
                    throw Boom.unauthorized(`API token required (API_AUTH=${auth.apiAuth}): send "Authorization: Bearer <API token>"`, 'Bearer');
                }

                const result = await gate.attempt(request, h, async (): Promise<AdminCredentials | ApiCredentials | null> => {

                    if (token && tokenMatches(presented, token)) {
                        return { role: 'admin', via: 'bearer' };
                    }

                    const found = await verifyApiToken(request.server.knex, presented);
                    return found ? { role: 'api', via: 'api-token', tokenId: found.id, tokenName: found.name } : null;
                });

                if (result.outcome === 'throttled') {
                    throw throttledError(result.retryAfter);
                }

                if (result.outcome === 'refused') {
                    throw Boom.unauthorized('Invalid or revoked API token', 'Bearer');
                }

                return h.authenticated({ credentials: result.value });
            }
        }));

        server.auth.strategy(ADMIN_STRATEGY, 'admin-token');
        server.auth.strategy(API_STRATEGY, 'api-token');

        // Expired sessions and spent failure counters go in the upkeep: one
        // instance at a time, never on a standby (the upkeep plugin registers
        // after this one, so the task is added once every plugin is in).
        server.ext('onPreStart', () => {

            server.upkeep?.register({
                name: 'auth-cleanup',
                async run(trx) {

                    const { sessions: ended, failures } = await deleteExpiredAuthState(trx);
                    return ended || failures ? `deleted ${ended} expired session(s) and ${failures} spent failure counter(s)` : null;
                }
            });
        });
        server.decorate('server', 'adminTokenConfigured', () => token !== null);
        server.decorate('server', 'verifyAdminToken', (candidate: string) => token !== null && typeof candidate === 'string' && tokenMatches(candidate, token));

        if (sessions) {
            const adminSessions: AdminSessions = {
                async start(request) {

                    const created = await sessions.create();
                    request.cookieAuth.set({ sid: created.id, exp: created.expiresAt });
                    return created;
                },
                async end(request) {

                    try {
                        await sessions.revoke(adminCredentials(request)?.sessionId);
                        await sessions.revoke((request.state[SESSION_COOKIE] as SessionCookie | undefined)?.sid);
                    }
                    catch (error) {
                        // No sessions table (migrations rolled back): nothing to end but the cookie.
                        if (!schemaMissing(error)) {
                            throw error;
                        }
                    }

                    request.cookieAuth.clear();
                }
            };
            server.decorate('server', 'adminSessions', adminSessions);
        }
    }
};
