// The error bodies every route shares, as OpenAPI components: hapi answers
// every error with Boom's { statusCode, error, message } (401 adds the
// WWW-Authenticate attributes), so one shape per status describes them all.

export const ERROR_STATUSES = [400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503] as const;
export type ErrorStatus = typeof ERROR_STATUSES[number];

interface ErrorSpec {
    /** Component name of the response and of its body schema (+ "Error"). */
    name: string;
    /** Boom's `error` text for the status. */
    error: string;
    description: string;
    retryAfter?: boolean;
}

const SPECS: Record<ErrorStatus, ErrorSpec> = {
    400: { name: 'BadRequest', error: 'Bad Request', description: 'The request is invalid; the message says which field to fix and how' },
    401: { name: 'Unauthorized', error: 'Unauthorized', description: 'No credentials, or credentials that are wrong or expired' },
    403: { name: 'Forbidden', error: 'Forbidden', description: 'Refused: the route is disabled on this server (for ops routes, ADMIN_TOKEN is not set)' },
    404: { name: 'NotFound', error: 'Not Found', description: 'No such record' },
    409: { name: 'Conflict', error: 'Conflict', description: 'The request conflicts with the current state (a duplicate, a running job, a held lock)' },
    413: { name: 'PayloadTooLarge', error: 'Request Entity Too Large', description: 'The request body is larger than the server accepts' },
    415: { name: 'UnsupportedMediaType', error: 'Unsupported Media Type', description: 'The request body is not JSON' },
    422: { name: 'UnprocessableEntity', error: 'Unprocessable Entity', description: 'The request refers to records that do not exist, or cannot be carried out as asked' },
    429: { name: 'TooManyRequests', error: 'Too Many Requests', description: 'Too many requests from this client; retry after the given seconds', retryAfter: true },
    500: { name: 'InternalServerError', error: 'Internal Server Error', description: 'A server fault; details are in the server log under the request id' },
    503: { name: 'ServiceUnavailable', error: 'Service Unavailable', description: 'The database is busy, unreachable or its schema is not up to date; retry after the given seconds', retryAfter: true }
};

const schemaName = (spec: ErrorSpec) => (spec.name.endsWith('Error') ? spec.name : `${spec.name}Error`);

/** `$ref` of the shared response for an error status. */
export function errorResponseRef(status: ErrorStatus): { $ref: string } {

    return { $ref: `#/components/responses/${SPECS[status].name}` };
}

function bodySchema(status: ErrorStatus, spec: ErrorSpec): object {

    const properties: Record<string, object> = {
        statusCode: { type: 'integer', enum: [status] },
        error: { type: 'string', enum: [spec.error] },
        message: { type: 'string', description: 'What went wrong and, for client errors, what to change' }
    };

    if (status === 401) {
        properties.attributes = {
            type: 'object',
            description: 'The WWW-Authenticate challenge attributes',
            properties: { error: { type: 'string' } },
            additionalProperties: { type: 'string' }
        };
    }

    return {
        type: 'object',
        description: `Body of a ${status} (${spec.error}) answer`,
        required: ['statusCode', 'error', 'message'],
        properties,
        additionalProperties: false
    };
}

/** components.schemas and components.responses of the error statuses the document uses. */
export function errorComponents(statuses: readonly ErrorStatus[]): { schemas: Record<string, object>; responses: Record<string, object> } {

    const schemas: Record<string, object> = {};
    const responses: Record<string, object> = {};
    for (const status of ERROR_STATUSES.filter((known) => statuses.includes(known))) {
        const spec = SPECS[status];
        schemas[schemaName(spec)] = bodySchema(status, spec);
        const response: Record<string, unknown> = {
            description: spec.description,
            content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName(spec)}` } } }
        };
        if (spec.retryAfter) {
            response.headers = { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } } };
        }

        if (status === 401) {
            response.headers = { 'WWW-Authenticate': { description: 'The scheme to authenticate with (Bearer)', schema: { type: 'string' } } };
        }

        responses[spec.name] = response;
    }

    return { schemas, responses };
}
