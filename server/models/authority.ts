// The three authority tables share one shape: a canonical name, its known
// variants and how often it is used.

import { BaseModel, standardTimestamps } from './base';

export abstract class Authority extends BaseModel {

    declare id: string;
    declare canonical_name: string;
    declare variants: string[];
    declare usage_count: number;
    declare created_at: string;
    declare updated_at: string;

    static override timestampColumns = standardTimestamps;
    static override jsonAttributes = ['variants'];

    static override jsonSchema = {
        type: 'object',
        required: ['canonical_name'],
        properties: {
            id: { type: 'string' },
            canonical_name: { type: 'string', minLength: 1, maxLength: 500 },
            variants: { type: 'array', items: { type: 'string' } },
            usage_count: { type: 'integer', minimum: 0 }
        }
    };
}

export class AuthoritySubject extends Authority {

    static override tableName = 'authority_subjects';
}

export class AuthorityCreator extends Authority {

    static override tableName = 'authority_creators';
}

export class AuthorityPublisher extends Authority {

    static override tableName = 'authority_publishers';
}
