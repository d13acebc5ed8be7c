// Which resource fields a list or search answer carries. The embeddings are
// up to 4,096 numbers each: a page of 100 full rows would be megabytes that
// few clients read, so lists leave them out unless `include` asks for them.

import { RESOURCE_COLUMNS } from './models';
import { Joi } from './input';

/** Fields left out of lists and search results unless asked for. */
export const OPTIONAL_FIELDS = ['embedding', 'sparse_embedding'] as const;
export type OptionalField = typeof OPTIONAL_FIELDS[number];

// An array that also accepts one comma-separated string (include=a,b).
const commaList = Joi.extend((joi) => ({
    type: 'commaList',
    base: joi.array(),
    coerce: {
        from: 'string',
        method: (value: string) => ({ value: value.split(',') })
    }
}));

/** The `include` query parameter: comma-separated or repeated. */
export const includeParam = commaList.commaList().items(Joi.string().valid(...OPTIONAL_FIELDS)).unique()
    .description(`Large fields to include in each resource: ${OPTIONAL_FIELDS.join(', ')} (comma-separated)`);

/** The resource columns of a list or search answer. */
export function listColumns(include: readonly string[] = []): string[] {

    return RESOURCE_COLUMNS.filter((column) => !(OPTIONAL_FIELDS as readonly string[]).includes(column) || include.includes(column));
}
