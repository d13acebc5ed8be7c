import type { RelationMappings } from 'objection';

import { BaseModel, standardTimestamps } from './base';

export class TaxonomyNode extends BaseModel {

    declare id: string;
    declare name: string;
    declare slug: string;
    declare parent_id: string | null;
    declare level: number;
    declare path: string;
    declare description: string | null;
    declare created_at: string;
    declare updated_at: string;
    declare children?: TaxonomyNode[];

    static override tableName = 'taxonomy_nodes';
    static override timestampColumns = standardTimestamps;

    static override jsonSchema = {
        type: 'object',
        required: ['name', 'slug', 'path'],
        properties: {
            id: { type: 'string' },
            name: { type: 'string', minLength: 1, maxLength: 200 },
            slug: { type: 'string', minLength: 1, maxLength: 200 },
            parent_id: { type: ['string', 'null'] },
            level: { type: 'integer', minimum: 0 },
            path: { type: 'string' },
            description: { type: ['string', 'null'] }
        }
    };

    static override get relationMappings(): RelationMappings {

        return {
            parent: {
                relation: BaseModel.BelongsToOneRelation,
                modelClass: TaxonomyNode,
                join: { from: 'taxonomy_nodes.parent_id', to: 'taxonomy_nodes.id' }
            },
            children: {
                relation: BaseModel.HasManyRelation,
                modelClass: TaxonomyNode,
                join: { from: 'taxonomy_nodes.id', to: 'taxonomy_nodes.parent_id' }
            }
        };
    }
}
