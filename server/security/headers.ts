// Security headers on every response the server sends (API JSON, errors,
// /documentation, static files, console pages): no MIME sniffing, no framing
// by other sites, no full URLs leaked to other origins. A response that set
// its own value keeps it (the console sends a complete CSP).

import type { Boom } from '@hapi/boom';
import type { ResponseObject } from '@hapi/hapi';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'same-origin',
    // Only framing: /documentation's page needs its inline scripts.
    'Content-Security-Policy': "frame-ancestors 'none'"
};

export function addSecurityHeaders(response: ResponseObject | Boom): void {

    const isBoom = 'isBoom' in response && response.isBoom;
    const headers = isBoom ? (response as Boom).output.headers : (response as ResponseObject).headers;
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
        const present = Object.keys(headers).some((existing) => existing.toLowerCase() === name.toLowerCase());
        if (present) {
            continue;
        }

        if (isBoom) {
            (response as Boom).output.headers[name] = value;
        }
        else {
            (response as ResponseObject).header(name, value);
        }
    }
}
