// Login and logout. The login form trades the admin token for a session
// cookie (HttpOnly, SameSite=Strict); both forms carry the CSRF token in a
// hidden field so they also work without JavaScript. Wrong tokens are counted
// by the server's one failure throttle (server.authGate), in the database.

import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY, adminCredentials } from '../../server/auth';
import { alert } from '../../server/console/fragments';
import { LOGIN_PATH, LOGOUT_PATH, loginPage, type PageContext } from './pages';
import { safeNext } from './responses';

const MAX_TOKEN_LENGTH = 1024;

function showLogin(request: Request, h: ResponseToolkit, context: PageContext, options: { next?: string | undefined; message?: ReturnType<typeof alert> } = {}) {

    return h.response(loginPage({ context, csrfToken: request.plugins.crumb, ...options }).value).type('text/html');
}

export function sessionRoutes(context: PageContext): ServerRoute[] {

    return [
        {
            method: 'GET',
            path: LOGIN_PATH,
            options: {
                auth: { strategy: ADMIN_STRATEGY, mode: 'try' },
                plugins: { crumb: true },
                validate: {
                    query: Joi.object({
                        next: Joi.string().max(200),
                        loggedout: Joi.valid('1')
                    }).unknown(true),
                    failAction: 'ignore'
                },
                handler(request, h) {

                    const next = safeNext(request.query.next);
                    if (adminCredentials(request)?.via === 'session') {
                        return h.redirect(next ?? '/console');
                    }

                    const message = request.query.loggedout === '1' ? alert('success', 'You are logged out.') : undefined;
                    return showLogin(request, h, context, { next, message });
                }
            }
        },
        {
            method: 'POST',
            path: LOGIN_PATH,
            options: {
                auth: false,
                plugins: { crumb: { restful: false } },
                validate: {
                    payload: Joi.object({
                        token: Joi.string().max(MAX_TOKEN_LENGTH).required(),
                        next: Joi.string().max(200)
                    }),
                    failAction(request, h) {

                        return showLogin(request, h, context, { message: alert('error', 'Enter the admin token.') }).code(400).takeover();
                    }
                },
                async handler(request, h) {

                    const { token, next } = request.payload as { token: string; next?: string };
                    const result = await request.server.authGate.attempt(request, h, () => request.server.verifyAdminToken(token) ? true : null);
                    if (result.outcome === 'throttled') {
                        const wait = result.retryAfter;
                        const message = alert('error', `Too many wrong tokens from this address. Try again in ${Math.ceil(wait / 60)} minute(s).`);
                        return showLogin(request, h, context, { next: safeNext(next), message }).code(429).header('Retry-After', String(wait));
                    }

                    if (result.outcome === 'refused') {
                        return showLogin(request, h, context, { next: safeNext(next), message: alert('error', 'That is not the admin token of this server.') }).code(401);
                    }

                    await request.server.adminSessions.start(request);
                    return h.redirect(safeNext(next) ?? '/console').code(303);
                }
            }
        },
        {
            method: 'POST',
            path: LOGOUT_PATH,
            options: {
                auth: ADMIN_STRATEGY,
                plugins: { crumb: { restful: false } },
                async handler(request, h) {

                    await request.server.adminSessions.end(request);
                    return h.redirect(`${LOGIN_PATH}?loggedout=1`).code(303);
                }
            }
        }
    ];
}
