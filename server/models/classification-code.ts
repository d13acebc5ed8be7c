import type { RelationMappings } from 'objection';

import { BaseModel, standardTimestamps } from './base';

export class ClassificationCode extends BaseModel {

    declare code: string;
    declare label: string;
    declare parent_code: string | null;
    declare created_at: string;
    declare updated_at: string;

    static override tableName = 'classification_codes';
    static override idColumn = 'code';
    static override generatedUuid = false;
    static override timestampColumns = standardTimestamps;

    static override jsonSchema = {
        type: 'object',
        required: ['code', 'label'],
        properties: {
            code: { type: 'string', minLength: 1, maxLength: 32 },
            label: { type: 'string', minLength: 1, maxLength: 300 },
            parent_code: { type: ['string', 'null'], maxLength: 32 }
        }
    };

    static override get relationMappings(): RelationMappings {

        return {
            parent: {
                relation: BaseModel.BelongsToOneRelation,
                modelClass: ClassificationCode,
                join: { from: 'classification_codes.parent_code', to: 'classification_codes.code' }
            },
            children: {
                relation: BaseModel.HasManyRelation,
                modelClass: ClassificationCode,
                join: { from: 'classification_codes.code', to: 'classification_codes.parent_code' }
            }
        };
    }
}
