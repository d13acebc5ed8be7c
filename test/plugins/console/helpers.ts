// Helpers for the console tests: a server with extra plugins registered
// before initialize (so the console collects their panels), and a logged-in
// browser-like session for server.inject.

import type { Plugin, Server, ServerInjectResponse } from '@hapi/hapi';

import type { Env } from '../../../server/config';
import { createTestServer, TEST_ADMIN_TOKEN, type TestServer } from '../../helpers/server';

export interface ComposeOptions {
    env?: Env;
    plugins?: Array<Plugin<any>>;
    /** Stop before server.initialize() (to test start-up failures). */
    initialize?: boolean;
}

/** createTestServer with extra plugins registered before the console collects panels. */
export function createConsoleServer({ env = {}, plugins = [], initialize = true }: ComposeOptions = {}): Promise<TestServer> {

    // Production-mode servers in these tests would otherwise log every request.
    return createTestServer({ LOG_LEVEL: 'silent', DB_POOL_MAX: '5', ...env }, { plugins, initialize });
}

/** The value of a Set-Cookie cookie in a response, or null. */
export function cookieValue(response: ServerInjectResponse, name: string): string | null {

    const header = response.headers['set-cookie'];
    for (const line of ([] as string[]).concat(header ?? [])) {
        const match = new RegExp(`^${name}=([^;]*)`).exec(line);
        if (match) {
            return match[1]!;
        }
    }

    return null;
}

export interface ConsoleSession {
    /** The Cookie header a browser would send: session + CSRF cookie. */
    cookie: string;
    /** The CSRF token (what the shell puts in its meta tag and forms). */
    crumb: string;
    session: string;
}

/** The CSRF token a console page carries (its meta tag or hidden field). */
export function pageCsrfToken(payload: string): string | null {

    const match = /<meta name="csrf-token" content="([^"]+)">|<input type="hidden" name="crumb" value="([^"]+)">/.exec(payload);
    return match ? (match[1] ?? match[2])! : null;
}

/** Logs in the way the login form does and returns the cookies a browser would then hold. */
export async function loginSession(server: Server, token = TEST_ADMIN_TOKEN, headers: Record<string, string> = {}): Promise<ConsoleSession> {

    const page = await server.inject({ url: '/console/login', headers });
    const preLogin = cookieValue(page, 'crumb');
    if (!preLogin) {
        throw new Error('The login page issued no CSRF cookie');
    }

    const res = await server.inject({ method: 'POST', url: '/console/login', payload: { token, crumb: preLogin }, headers: { ...headers, cookie: `crumb=${preLogin}` } });
    const session = cookieValue(res, 'na_console');
    if (res.statusCode !== 303 || !session) {
        throw new Error(`Login failed with ${res.statusCode}`);
    }

    // A session's CSRF token is bound to it: the console pages carry it.
    const shell = await server.inject({ url: '/console', headers: { ...headers, cookie: `na_console=${session}` } });
    const crumb = pageCsrfToken(shell.payload);
    if (!crumb) {
        throw new Error(`The console page (${shell.statusCode}) carries no CSRF token`);
    }

    return { cookie: `crumb=${preLogin}; na_console=${session}`, crumb, session };
}
