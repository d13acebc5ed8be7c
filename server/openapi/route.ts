// What a route says about itself in the OpenAPI document: its success
// responses (named Joi schemas) and the error statuses its handler answers.
// Everything a route's config already implies (validation → 400, auth →
// 401/403 and security, a body → 413/415, any route → 500/503) is added by
// server/openapi/document.ts, so route files never repeat it.

import type { Schema } from 'joi';

import type { ErrorStatus } from './errors';

/** Key of this project's route options under `plugins`. */
export const OPENAPI_PLUGIN = 'openapi';

export interface ResponseDoc {
    description: string;
    /** A labelled Joi schema (the label names the component); none for an empty body. */
    schema?: Schema;
}

export interface RouteDocs {
    /** Success responses by status code. */
    responses: Record<number, ResponseDoc>;
    /** Error statuses the handler itself answers (404, 409, 422, …). */
    errors?: ErrorStatus[];
    /** Media type of the success body when it is not JSON (for example Prometheus text). */
    contentType?: string;
}

/** What server/openapi/document.ts reads from a route's `plugins.openapi`. */
export interface RouteOpenApiOptions {
    errors: ErrorStatus[];
    contentType?: string;
}

/** The route's `plugins` entry: hapi-swagger's responses plus ours. */
export function documented({ responses, errors = [], contentType }: RouteDocs): Record<string, object> {

    const options: RouteOpenApiOptions = { errors, ...(contentType ? { contentType } : {}) };
    return {
        'hapi-swagger': { responses },
        [OPENAPI_PLUGIN]: options
    };
}
