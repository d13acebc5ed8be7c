// Checks real responses against the OpenAPI document the server serves: the
// status must be declared for the operation, the body must match the
// declared media type and JSON schema (Ajv), and a success body must match
// the route's Joi response schema, which is closed (no undeclared field).

import { expect } from '@hapi/code';
import type { Server, ServerInjectOptions, ServerInjectResponse } from '@hapi/hapi';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type Joi from 'joi';

type Json = Record<string, any>;

const DOCUMENT_ID = 'openapi';

// OpenAPI 3.0's `nullable: true` is "or null" in JSON Schema.
function toJsonSchema(node: unknown): unknown {

    if (Array.isArray(node)) {
        return node.map(toJsonSchema);
    }

    if (!node || typeof node !== 'object') {
        return node;
    }

    const converted: Json = {};
    for (const [key, value] of Object.entries(node)) {
        converted[key] = toJsonSchema(value);
    }

    if (converted.nullable === true) {
        delete converted.nullable;
        return { anyOf: [{ type: 'null' }, converted] };
    }

    return converted;
}

const pointer = (...parts: string[]) => parts.map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

export class ContractChecker {

    private readonly ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    /** "get /resources/{id}" → statuses seen. */
    readonly seen = new Map<string, Set<number>>();

    constructor(readonly document: Json) {

        addFormats(this.ajv);
        this.ajv.addSchema(toJsonSchema(document) as Json, DOCUMENT_ID);
    }

    static async load(server: Server, headers: Record<string, string> = {}): Promise<ContractChecker> {

        const res = await server.inject({ url: '/openapi.json', headers });
        expect(res.statusCode, res.payload).to.equal(200);
        return new ContractChecker(JSON.parse(res.payload));
    }

    operations(): string[] {

        return Object.entries(this.document.paths as Json).flatMap(([path, operations]) => Object.keys(operations as Json).map((method) => `${method} ${path}`));
    }

    /** Injects a request and checks its response against the document. */
    async inject(server: Server, options: ServerInjectOptions): Promise<ServerInjectResponse> {

        const res = await server.inject(options);
        const route = res.request.route;
        const key = `${route.method} ${route.path}`;
        const operation = this.document.paths[route.path]?.[route.method];
        expect(operation, `${key} (${res.request.path}, ${res.statusCode}) is not in the OpenAPI document`).to.exist();

        const status = String(res.statusCode);
        let declared = operation.responses[status];
        expect(declared, `${key} answered ${status}, which it does not declare: ${res.payload}`).to.exist();
        let responsePointer = pointer('paths', route.path, route.method, 'responses', status);
        if (declared.$ref) {
            responsePointer = declared.$ref.slice(2);
            declared = responsePointer.split('/').reduce((node: Json, part: string) => node[part.replace(/~1/g, '/').replace(/~0/g, '~')], this.document);
        }

        if (!declared.content) {
            expect(res.payload, `${key} ${status} declares no body`).to.equal('');
        }
        else {
            const received = type(res);
            const mediaType = Object.keys(declared.content).find((candidate) => candidate.split(';')[0]!.trim() === received);
            expect(mediaType, `${key} ${status} answered ${received}, declared ${Object.keys(declared.content).join(', ')}`).to.exist();
            if (received === 'application/json') {
                const validate = this.ajv.getSchema(`${DOCUMENT_ID}#/${responsePointer}/${pointer('content', mediaType!, 'schema')}`)!;
                const body = JSON.parse(res.payload);
                expect(validate(body), `${key} ${status} body does not match its schema: ${this.ajv.errorsText(validate.errors)}\n${res.payload.slice(0, 2000)}`).to.be.true();
            }
        }

        const joi = (route.settings.plugins as Json | undefined)?.['hapi-swagger']?.responses?.[status]?.schema as Joi.Schema | undefined;
        if (joi && type(res) === 'application/json') {
            const { error } = joi.validate(JSON.parse(res.payload));
            expect(error?.message, `${key} ${status} body does not match its Joi schema`).to.not.exist();
        }

        const statuses = this.seen.get(key) ?? new Set<number>();
        statuses.add(res.statusCode);
        this.seen.set(key, statuses);
        return res;
    }
}

function type(res: ServerInjectResponse): string {

    return String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
}
