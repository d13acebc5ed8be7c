// The JSON routes take JSON bodies only. A body sent as a form, as text or
// without a Content-Type is refused before hapi parses it: hapi would read a
// missing type as JSON, and a cross-origin HTML form (no CORS preflight for
// form encodings) could then write through the API.

import Boom from '@hapi/boom';
import type { Lifecycle, Request } from '@hapi/hapi';

const BODY_METHODS = new Set(['post', 'put', 'patch']);

export const JSON_ONLY_MESSAGE = 'Send the request body as JSON with "Content-Type: application/json"';

function hasBody(request: Request): boolean {

    const length = request.headers['content-length'];
    return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/** True when the media type is JSON (application/json or a +json type). */
export function isJsonMediaType(header: string | undefined): boolean {

    const type = (header ?? '').split(';')[0]!.trim().toLowerCase();
    return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** onPreAuth for the API's routes: 415 for a body that is not declared JSON. */
export const refuseNonJsonBodies: Lifecycle.Method = (request, h) => {

    if (BODY_METHODS.has(request.method) && hasBody(request) && !isJsonMediaType(request.headers['content-type'] as string | undefined)) {
        throw Boom.unsupportedMediaType(JSON_ONLY_MESSAGE);
    }

    return h.continue;
};
