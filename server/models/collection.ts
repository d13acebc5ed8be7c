import type { RelationMappings } from 'objection';

import { BaseModel, standardTimestamps } from './base';
import { Resource } from './resource';
import { User } from './user';

export const VISIBILITIES = ['private', 'shared', 'public'] as const;
export type Visibility = typeof VISIBILITIES[number];

export class Collection extends BaseModel {

    declare id: string;
    declare name: string;
    declare description: string | null;
    declare owner_id: string | null;
    declare visibility: Visibility;
    declare parent_id: string | null;
    declare created_at: string;
    declare updated_at: string;

    static override tableName = 'collections';
    static override timestampColumns = standardTimestamps;

    static override jsonSchema = {
        type: 'object',
        required: ['name'],
        properties: {
            id: { type: 'string' },
            name: { type: 'string', minLength: 1, maxLength: 200 },
            description: { type: ['string', 'null'] },
            owner_id: { type: ['string', 'null'] },
            visibility: { type: 'string', enum: [...VISIBILITIES] },
            parent_id: { type: ['string', 'null'] }
        }
    };

    static override get relationMappings(): RelationMappings {

        return {
            owner: {
                relation: BaseModel.BelongsToOneRelation,
                modelClass: User,
                join: { from: 'collections.owner_id', to: 'users.id' }
            },
            parent: {
                relation: BaseModel.BelongsToOneRelation,
                modelClass: Collection,
                join: { from: 'collections.parent_id', to: 'collections.id' }
            },
            children: {
                relation: BaseModel.HasManyRelation,
                modelClass: Collection,
                join: { from: 'collections.id', to: 'collections.parent_id' }
            },
            resources: {
                relation: BaseModel.ManyToManyRelation,
                modelClass: Resource,
                join: {
                    from: 'collections.id',
                    through: { from: 'collection_resources.collection_id', to: 'collection_resources.resource_id', extra: ['added_at'] },
                    to: 'resources.id'
                }
            }
        };
    }
}
