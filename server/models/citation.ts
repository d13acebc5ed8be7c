import type { RelationMappings } from 'objection';

import { BaseModel, standardTimestamps } from './base';
import { Resource } from './resource';

export class Citation extends BaseModel {

    declare id: string;
    declare source_resource_id: string;
    declare target_resource_id: string | null;
    declare target_url: string | null;
    declare citation_type: 'reference' | 'dataset' | 'code' | 'general';
    declare context_snippet: string | null;
    declare importance_score: number | null;
    declare created_at: string;
    declare updated_at: string;

    static override tableName = 'citations';
    static override timestampColumns = standardTimestamps;

    static override jsonSchema = {
        type: 'object',
        required: ['source_resource_id'],
        properties: {
            id: { type: 'string' },
            source_resource_id: { type: 'string' },
            target_resource_id: { type: ['string', 'null'] },
            target_url: { type: ['string', 'null'] },
            citation_type: { type: 'string', enum: ['reference', 'dataset', 'code', 'general'] },
            context_snippet: { type: ['string', 'null'] },
            importance_score: { type: ['number', 'null'] }
        }
    };

    static override get relationMappings(): RelationMappings {

        return {
            source: {
                relation: BaseModel.BelongsToOneRelation,
                modelClass: Resource,
                join: { from: 'citations.source_resource_id', to: 'resources.id' }
            },
            target: {
                relation: BaseModel.BelongsToOneRelation,
                modelClass: Resource,
                join: { from: 'citations.target_resource_id', to: 'resources.id' }
            }
        };
    }
}
