import type { RelationMappings } from 'objection';

import { BaseModel, standardTimestamps } from './base';
import { Resource } from './resource';
import { User } from './user';

export class Annotation extends BaseModel {

    declare id: string;
    declare resource_id: string;
    declare user_id: string | null;
    declare start_offset: number;
    declare end_offset: number;
    declare highlighted_text: string;
    declare note: string | null;
    declare tags: string[];
    declare color: string;
    declare is_shared: boolean;
    declare created_at: string;
    declare updated_at: string;

    static override tableName = 'annotations';
    static override timestampColumns = standardTimestamps;
    static override booleanColumns = ['is_shared'];
    static override jsonAttributes = ['tags'];

    static override jsonSchema = {
        type: 'object',
        required: ['resource_id', 'start_offset', 'end_offset', 'highlighted_text'],
        properties: {
            id: { type: 'string' },
            resource_id: { type: 'string' },
            user_id: { type: ['string', 'null'] },
            start_offset: { type: 'integer', minimum: 0 },
            end_offset: { type: 'integer', minimum: 0 },
            highlighted_text: { type: 'string' },
            note: { type: ['string', 'null'] },
            tags: { type: 'array', items: { type: 'string' } },
            color: { type: 'string', maxLength: 16 },
            is_shared: { type: 'boolean' }
        }
    };

    static override get relationMappings(): RelationMappings {

        return {
            resource: {
                relation: BaseModel.BelongsToOneRelation,
                modelClass: Resource,
                join: { from: 'annotations.resource_id', to: 'resources.id' }
            },
            user: {
                relation: BaseModel.BelongsToOneRelation,
                modelClass: User,
                join: { from: 'annotations.user_id', to: 'users.id' }
            }
        };
    }
}
