// How every response under /console leaves the server: security headers,
// a login redirect when the session is missing or over, and errors as HTML
// (a fragment for htmx, a page otherwise) instead of hapi's JSON.

import type { Lifecycle, Request, ResponseObject, ResponseToolkit } from '@hapi/hapi';
import type { Boom } from '@hapi/boom';

import { echoRequestId } from '../../server/logging';
import { LOGIN_PATH, errorFragment, errorPage, type PageContext } from './pages';

// No inline scripts or styles, no framing, no third-party anything: the
// console only ever talks to this server. htmx runs without eval as long as
// fragments avoid hx-on and trigger filters (see server/console/panel.ts).
export const CONTENT_SECURITY_POLICY = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'"
].join('; ');

export function isConsolePath(path: string): boolean {

    return path === '/console' || path.startsWith('/console/');
}

export function isHtmxRequest(request: Request): boolean {

    return request.headers['hx-request'] === 'true';
}

/** Where to come back after logging in: only the console's own pages qualify. */
export function safeNext(candidate: unknown): string | undefined {

    return typeof candidate === 'string' && /^\/console(?:\/[a-z][a-z0-9-]{0,39})?$/.test(candidate) ? candidate : undefined;
}

function loginUrl(next: string | undefined): string {

    return next && next !== '/console' ? `${LOGIN_PATH}?next=${encodeURIComponent(next)}` : LOGIN_PATH;
}

/** The console page an htmx request came from, from the HX-Current-URL header. */
function currentPage(request: Request): string | undefined {

    try {
        return safeNext(new URL(String(request.headers['hx-current-url'] ?? '')).pathname);
    }
    catch {
        return undefined;
    }
}

const STATIC_ASSET = /^\/console\/assets\//;

function secure(response: ResponseObject, path: string): ResponseObject {

    response.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    response.header('X-Frame-Options', 'DENY');
    response.header('X-Content-Type-Options', 'nosniff');
    response.header('Referrer-Policy', 'same-origin');
    if (!STATIC_ASSET.test(path)) {
        // Pages and fragments show live state and are per-session: never cache them.
        response.header('Cache-Control', 'no-store');
    }

    return response;
}

function messageOf(error: Boom): string {

    const { payload } = error.output;
    return String(payload.message || payload.error);
}

export function consoleResponses(context: PageContext): Lifecycle.Method {

    return (request: Request, h: ResponseToolkit) => {

        if (!isConsolePath(request.path)) {
            return h.continue;
        }

        const response = request.response;
        if (!('isBoom' in response) || !response.isBoom) {
            secure(response as ResponseObject, request.path);
            return h.continue;
        }

        const error = response;
        const { statusCode } = error.output;
        const scripted = request.headers.authorization !== undefined;
        // A replacement keeps the request id core put on the error.
        const replace = (reply: ResponseObject) => {

            echoRequestId(request, reply);
            return secure(reply, request.path);
        };

        if (statusCode === 401 && !scripted) {
            if (isHtmxRequest(request)) {
                // htmx follows HX-Redirect whatever the status: the whole page goes to the login form.
                return replace(h.response(errorFragment(401, 'Your session has ended. Log in again.').value)
                    .code(401).type('text/html').header('HX-Redirect', loginUrl(currentPage(request))));
            }

            if (request.method === 'get') {
                return replace(h.redirect(loginUrl(safeNext(request.path))).takeover());
            }
        }

        const message = messageOf(error);
        const markup = isHtmxRequest(request)
            ? errorFragment(statusCode, message)
            : errorPage({ context, statusCode, title: String(error.output.payload.error), message });

        const reply = h.response(markup.value).code(statusCode).type('text/html');
        for (const [name, value] of Object.entries(error.output.headers)) {
            reply.header(name, String(value));
        }

        return replace(reply);
    };
}
