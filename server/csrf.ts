// CSRF policy for @hapi/crumb. The session cookie is the only ambient
// credential a browser sends by itself, so every state-changing request
// authenticated by that cookie must carry the CSRF token: htmx sends it in the
// X-CSRF-Token header (public/console/console.js), plain HTML forms in a
// hidden `crumb` field (routes that opt in with `plugins: { crumb: { restful: false } }`).
// Bearer-token calls are exempt: a page on another site cannot add an
// Authorization header to a request without a CORS preflight we never allow.

import type { Request, ServerStateCookieOptions } from '@hapi/hapi';
import type { CrumbOptions } from '@hapi/crumb';

import { adminCredentials } from './auth';

export const CSRF_HEADER = 'X-CSRF-Token';
/** Name of the CSRF cookie and of the hidden form field. */
export const CSRF_FIELD = 'crumb';

/**
 * True when crumb should neither issue nor check a token for this request:
 * bearer calls, and requests no console session vouches for unless the route
 * opted in (the login form, so a login cannot be forged either).
 */
export function csrfExempt(request: Request): boolean {

    const credentials = adminCredentials(request);
    if (credentials) {
        return credentials.via !== 'session';
    }

    return !Object.prototype.hasOwnProperty.call(request.route.settings.plugins ?? {}, 'crumb');
}

export interface CsrfSettings {
    secureCookies: boolean;
}

export function csrfOptions({ secureCookies }: CsrfSettings): CrumbOptions {

    const cookieOptions: ServerStateCookieOptions = {
        path: '/',
        isSecure: secureCookies,
        isHttpOnly: true,
        isSameSite: 'Strict'
    };

    return {
        key: CSRF_FIELD,
        headerName: CSRF_HEADER,
        // Header check on POST/PUT/PATCH/DELETE; form routes switch to the field.
        restful: true,
        // Tokens are issued by the console pages that need them, not on every response.
        autoGenerate: false,
        addToViewContext: false,
        cookieOptions,
        logUnauthorized: true,
        skip: (request) => csrfExempt(request)
    };
}
