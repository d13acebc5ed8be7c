// CSRF protection for the console. The session cookie is the only ambient
// credential a browser sends by itself, so every state-changing request
// authenticated by that cookie must carry the CSRF token: htmx sends it in the
// X-CSRF-Token header (public/console/console.js), plain HTML forms in a
// hidden `crumb` field (routes that opt in with `plugins: { crumb: { restful: false } }`).
//
// A logged-in session's token is an HMAC of its session id (key derived from
// SESSION_SECRET): it is bound to that session, so another session's token
// (with or without its CSRF cookie) is refused, and every instance computes
// the same token. Before login (the login form) the token is a random value
// also set as the `crumb` cookie (double submit), so a login cannot be forged
// from another site either.
// Bearer-token calls are exempt: a page on another site cannot add an
// Authorization header to a request without a CORS preflight we never allow.

import { randomBytes } from 'node:crypto';
import Boom from '@hapi/boom';
import type { Plugin, Request, ResponseToolkit } from '@hapi/hapi';

import { adminCredentials } from './auth';
import { deriveKey, safeEqual, sign } from './security/secrets';

export const CSRF_HEADER = 'X-CSRF-Token';
/** Name of the pre-login CSRF cookie and of the hidden form field. */
export const CSRF_FIELD = 'crumb';
export const CSRF_REFUSED_MESSAGE = 'The request was refused because its CSRF token is missing or out of date. Reload the page and try again.';

const STATE_CHANGING = new Set(['post', 'put', 'patch', 'delete']);
const NONCE = /^[\w-]{43}$/;

/**
 * True when no token is issued or checked for this request: bearer calls, and
 * requests no console session vouches for unless the route opted in (the
 * login form, so a login cannot be forged either).
 */
export function csrfExempt(request: Request): boolean {

    const credentials = adminCredentials(request);
    if (credentials) {
        return credentials.via !== 'session';
    }

    return !Object.prototype.hasOwnProperty.call(request.route.settings.plugins ?? {}, 'crumb');
}

interface RouteCsrf {
    /** Issue the token for the page (request.plugins.crumb). */
    issue: boolean;
    /** Check the header (true) or the form field (false). */
    restful: boolean;
}

/** The route's CSRF setting: on by default (header check), off with `crumb: false`. */
function routeCsrf(request: Request): RouteCsrf | null {

    const setting = request.route.settings.plugins?.crumb;
    if (setting === false) {
        return null;
    }

    return { issue: Boolean(setting), restful: typeof setting === 'object' ? setting.restful !== false : true };
}

export interface CsrfOptions {
    sessionSecret: string;
    secureCookies: boolean;
}

export const csrf: Plugin<CsrfOptions> = {
    name: 'csrf',
    register(server, { sessionSecret, secureCookies }) {

        const key = deriveKey(sessionSecret, 'csrf');

        server.state(CSRF_FIELD, { path: '/', isSecure: secureCookies, isHttpOnly: true, isSameSite: 'Strict', encoding: 'none', ignoreErrors: true, clearInvalid: true });

        const tokenOf = (request: Request, h: ResponseToolkit): string => {

            const sessionId = adminCredentials(request)?.sessionId;
            if (sessionId) {
                return sign(key, `session:${sessionId}`);
            }

            const cookie = request.state[CSRF_FIELD];
            if (typeof cookie === 'string' && NONCE.test(cookie)) {
                return cookie;
            }

            const nonce = randomBytes(32).toString('base64url');
            h.state(CSRF_FIELD, nonce);
            return nonce;
        };

        server.ext('onPostAuth', (request, h) => {

            const route = routeCsrf(request);
            if (!route || csrfExempt(request)) {
                return h.continue;
            }

            const expected = route.issue || STATE_CHANGING.has(request.method) ? tokenOf(request, h) : null;
            if (route.issue) {
                request.plugins.crumb = expected!;
            }

            if (!STATE_CHANGING.has(request.method)) {
                return h.continue;
            }

            const payload = request.payload as Record<string, unknown> | null;
            const presented = route.restful ? request.headers[CSRF_HEADER.toLowerCase()] : payload?.[CSRF_FIELD];
            if (typeof presented !== 'string' || !safeEqual(presented, expected!)) {
                request.log(['csrf', 'unauthorized'], 'CSRF token missing or not this session\'s');
                throw Boom.forbidden(CSRF_REFUSED_MESSAGE);
            }

            if (!route.restful) {
                delete payload![CSRF_FIELD];
            }

            return h.continue;
        });
    }
};
