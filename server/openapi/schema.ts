// Building blocks for response schemas: a response always carries every field
// it declares, and nothing else, so objects are closed and fields required
// unless marked .optional().

import Joi from 'joi';

/** A named, closed object whose fields are required unless marked `.optional()`. */
export function responseObject(label: string, keys: Record<string, Joi.Schema>): Joi.ObjectSchema {

    const fields = Object.fromEntries(Object.entries(keys)
        .map(([key, schema]) => [key, schema.$_getFlag('presence') === 'optional' ? schema : schema.required()]));
    return Joi.object(fields).unknown(false).label(label);
}

/** An ISO-8601 UTC timestamp as the API writes it. */
export const timestamp = Joi.date().iso();

export const uuidString = Joi.string().guid();
