// Structured logging for the whole server: hapi-pino settings and request ids.
// Every log line written for a request carries its `req_id`; a client or a
// proxy may supply the id in X-Request-Id, and core's onPreResponse step echoes it
// in the response (echoRequestId).

import type { Boom } from '@hapi/boom';
import type { Request, ResponseObject } from '@hapi/hapi';
import PinoPretty from 'pino-pretty';

import type { Config } from './config';

export const REQUEST_ID_HEADER = 'x-request-id';

// Ids from outside are accepted only in a short, log-safe form.
const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;

declare module '@hapi/hapi' {
    interface RequestApplicationState {
        requestId?: string;
    }
}

/** The id of a request: the client's X-Request-Id when valid, else hapi's own. */
export function requestIdOf(request: Request): string {

    let id = request.app.requestId;
    if (!id) {
        const supplied = request.headers[REQUEST_ID_HEADER];
        id = typeof supplied === 'string' && VALID_ID.test(supplied) ? supplied : request.info.id;
        request.app.requestId = id;
    }

    return id;
}

/** Sets the request id header on the response about to go out, errors included. */
export function echoRequestId(request: Request, response: Request['response'] | Boom = request.response): void {

    const id = requestIdOf(request);
    if ('isBoom' in response && response.isBoom) {
        response.output.headers[REQUEST_ID_HEADER] = id;
    }
    else {
        (response as ResponseObject).header(REQUEST_ID_HEADER, id);
    }
}

/** The tag hapi gives a connection whose request could not be parsed (with 'connection' and 'error'). */
export const CLIENT_ERROR_TAG = 'client';

/**
 * The log line of a request hapi could not parse: a client's fault, so a
 * warning, with the parser's code and reason only (never the raw packet).
 */
export function clientErrorLog(error: unknown): { msg: string; code: string | null; reason: string | null } {

    const { code, reason } = (error ?? {}) as { code?: unknown; reason?: unknown };
    const text = (value: unknown) => (typeof value === 'string' ? value.slice(0, 200) : null);
    return { msg: `Malformed request from a client: ${text(reason) ?? text(code) ?? 'unparsable'}`, code: text(code), reason: text(reason) };
}

/** Where log lines go: a stream that may be a terminal. */
export type LogOutput = NodeJS.WritableStream & { isTTY?: boolean };

/** Whether log lines are written for people: LOG_FORMAT, or by default in development on a terminal. */
export function prettyLogs(config: Config, output: LogOutput): boolean {

    return config.logFormat === 'pretty' || (config.logFormat === 'auto' && config.env === 'development' && Boolean(output.isTTY));
}

/**
 * hapi-pino options, bound to the request id: one JSON object per line, or
 * one readable line per event (prettyLogs). A finished request is logged as
 * method, path, status and time, never with its headers.
 */
export function loggingOptions(config: Config, output: LogOutput = process.stdout): object {

    const stream = prettyLogs(config, output)
        ? PinoPretty({
            destination: output,
            colorize: Boolean(output.isTTY),
            singleLine: true,
            translateTime: 'SYS:HH:MM:ss.l',
            // The message already says method, path, status and time.
            ignore: 'pid,hostname,res,responseTime'
        })
        : output;

    return {
        level: config.logLevel,
        stream,
        serializers: {
            req: (req: { method: string; url: string }) => ({ method: req.method.toUpperCase(), url: req.url }),
            res: (res: { statusCode: number }) => ({ statusCode: res.statusCode })
        },
        redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]'],
        // Health probes would drown the log.
        ignorePaths: ['/health'],
        // hapi logs a malformed request (bad HTTP, headers too large) as an
        // error carrying the raw bytes the client sent, Authorization header
        // included; core logs it as a warning without them (clientErrorLog).
        ignoredEventTags: { log: [CLIENT_ERROR_TAG] },
        logRequestComplete: config.env !== 'test',
        // request.log(tags, { … }) fields land at the top level of the line.
        mergeHapiLogData: true,
        getChildBindings: (request: Request) => ({ req_id: requestIdOf(request) }),
        customRequestCompleteMessage: (request: Request, responseTime: number) =>
            `${request.method.toUpperCase()} ${request.path} ${request.raw.res.statusCode} (${responseTime} ms)`
    };
}
