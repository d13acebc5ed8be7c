// Repairs what hapi-swagger's Joi conversion leaves in an OpenAPI 3.0
// document, so that components are named objects only and every keyword
// means what it says.

type Json = Record<string, any>;

const SCHEMA_REF = '#/components/schemas/';

function walk(node: unknown, visit: (object: Json) => Json | void): unknown {

    if (Array.isArray(node)) {
        return node.map((item) => walk(item, visit));
    }

    if (node && typeof node === 'object') {
        const replaced = visit(node as Json);
        const target = replaced ?? node;
        for (const [key, value] of Object.entries(target)) {
            (target as Json)[key] = walk(value, visit);
        }

        return target;
    }

    return node;
}

// hapi-swagger copies Joi references (`min(Joi.ref('start_offset'))`) into
// the document as objects. A cross-field rule has no JSON-schema keyword, so
// the keyword is dropped; the request is still validated by Joi.
const NUMERIC_KEYWORDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'multipleOf'];

function dropReferenceLimits(object: Json): void {

    for (const key of NUMERIC_KEYWORDS) {
        if (typeof object[key] === 'object' && object[key] !== null) {
            delete object[key];
        }
    }
}

// hapi-swagger records Joi's string rules as x-format; the standard formats
// among them are stated as `format` too, so validators and clients see them.
const FORMATS: Record<string, string> = { guid: 'uuid', uri: 'uri', email: 'email', isoDate: 'date-time' };

function stateFormat(object: Json): void {

    if (object.type === 'string' && !object.format && object['x-format'] && typeof object['x-format'] === 'object') {
        const known = Object.keys(object['x-format']).find((rule) => FORMATS[rule]);
        if (known) {
            object.format = FORMATS[known];
        }
    }
}

/** Normalises the document's schemas in place. */
export function normalizeSchemas(document: Json): void {

    const schemas: Json = document.components?.schemas ?? {};

    // hapi-swagger writes a closed object's additionalProperties: false next
    // to the $ref that points at it, where OpenAPI ignores it: move it in.
    walk(document, (object) => {

        dropReferenceLimits(object);
        stateFormat(object);
        if (typeof object.$ref === 'string' && object.$ref.startsWith(SCHEMA_REF)) {
            const target = schemas[object.$ref.slice(SCHEMA_REF.length)];
            if (target && object.additionalProperties === false) {
                target.additionalProperties = false;
            }

            return { $ref: object.$ref };
        }
    });

    // hapi-swagger makes a component of every enum and array, named after the
    // field (`status`, `items1`, …), and of every nullable variant of an
    // object (`BackupJob1`). Those are inlined where they are used: the
    // components left are the labelled objects.
    const inlined = (name: string) => {

        const schema = schemas[name];
        return schema && (schema.type !== 'object' || schema.nullable === true);
    };

    for (let pass = 0; pass < 10; ++pass) {
        let changed = false;
        walk(document, (object) => {

            const name = typeof object.$ref === 'string' && object.$ref.startsWith(SCHEMA_REF) ? object.$ref.slice(SCHEMA_REF.length) : null;
            if (name && inlined(name)) {
                changed = true;
                return structuredClone(schemas[name]);
            }
        });

        if (!changed) {
            break;
        }
    }

    for (const name of Object.keys(schemas)) {
        if (inlined(name)) {
            delete schemas[name];
        }
    }
}
