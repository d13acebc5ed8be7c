import type { Pojo, RelationMappings } from 'objection';

import { Annotation } from './annotation';
import { BaseModel, standardTimestamps, timestampSchema } from './base';
import { Citation } from './citation';
import { ClassificationCode } from './classification-code';
import { Collection } from './collection';
import { TaxonomyNode } from './taxonomy-node';
import { User } from './user';

export const READ_STATUSES = ['unread', 'in_progress', 'read', 'archived'] as const;
export const INGESTION_STATUSES = ['pending', 'processing', 'completed', 'failed'] as const;
export type ReadStatus = typeof READ_STATUSES[number];
export type IngestionStatus = typeof INGESTION_STATUSES[number];

/** Columns a client sees; search storage (search_vector) is never selected. */
export const RESOURCE_COLUMNS = [
    'id', 'title', 'description', 'creator', 'publisher', 'contributor', 'type', 'format', 'language',
    'identifier', 'source', 'coverage', 'rights', 'subject', 'relation', 'classification_code',
    'quality_score', 'read_status', 'embedding', 'sparse_embedding', 'owner_id', 'ingestion_status',
    'ingestion_error', 'ingestion_started_at', 'ingestion_completed_at', 'created_at', 'updated_at'
] as const;

export class Resource extends BaseModel {

    declare id: string;
    declare title: string;
    declare description: string | null;
    declare creator: string | null;
    declare publisher: string | null;
    declare contributor: string | null;
    declare type: string | null;
    declare format: string | null;
    declare language: string | null;
    declare identifier: string | null;
    declare source: string | null;
    declare coverage: string | null;
    declare rights: string | null;
    declare subject: string[];
    declare relation: string[];
    declare classification_code: string | null;
    declare quality_score: number;
    declare read_status: ReadStatus;
    declare embedding: number[] | null;
    declare sparse_embedding: Record<string, number> | null;
    declare owner_id: string | null;
    declare ingestion_status: IngestionStatus;
    declare ingestion_error: string | null;
    declare ingestion_started_at: string | null;
    declare ingestion_completed_at: string | null;
    declare created_at: string;
    declare updated_at: string;

    static override tableName = 'resources';
    static override timestampColumns = [...standardTimestamps, 'ingestion_started_at', 'ingestion_completed_at'];
    static override jsonAttributes = ['subject', 'relation', 'embedding', 'sparse_embedding'];

    static override jsonSchema = {
        type: 'object',
        required: ['title'],
        properties: {
            id: { type: 'string' },
            title: { type: 'string', minLength: 1 },
            description: { type: ['string', 'null'] },
            subject: { type: 'array', items: { type: 'string' } },
            relation: { type: 'array', items: { type: 'string' } },
            classification_code: { type: ['string', 'null'], maxLength: 32 },
            quality_score: { type: 'number', minimum: 0, maximum: 1 },
            read_status: { type: 'string', enum: [...READ_STATUSES] },
            embedding: { type: ['array', 'null'], items: { type: 'number' } },
            sparse_embedding: { type: ['object', 'null'], additionalProperties: { type: 'number' } },
            owner_id: { type: ['string', 'null'] },
            ingestion_status: { type: 'string', enum: [...INGESTION_STATUSES] },
            ingestion_started_at: timestampSchema,
            ingestion_completed_at: timestampSchema
        }
    };

    override $parseDatabaseJson(json: Pojo): Pojo {

        const parsed = super.$parseDatabaseJson(json);
        delete parsed.search_vector;
        return parsed;
    }

    static override get relationMappings(): RelationMappings {

        return {
            classification: {
                relation: BaseModel.BelongsToOneRelation,
                modelClass: ClassificationCode,
                join: { from: 'resources.classification_code', to: 'classification_codes.code' }
            },
            owner: {
                relation: BaseModel.BelongsToOneRelation,
                modelClass: User,
                join: { from: 'resources.owner_id', to: 'users.id' }
            },
            annotations: {
                relation: BaseModel.HasManyRelation,
                modelClass: Annotation,
                join: { from: 'resources.id', to: 'annotations.resource_id' }
            },
            citations: {
                relation: BaseModel.HasManyRelation,
                modelClass: Citation,
                join: { from: 'resources.id', to: 'citations.source_resource_id' }
            },
            collections: {
                relation: BaseModel.ManyToManyRelation,
                modelClass: Collection,
                join: {
                    from: 'resources.id',
                    through: { from: 'collection_resources.resource_id', to: 'collection_resources.collection_id' },
                    to: 'collections.id'
                }
            },
            taxonomy: {
                relation: BaseModel.ManyToManyRelation,
                modelClass: TaxonomyNode,
                join: {
                    from: 'resources.id',
                    through: {
                        from: 'resource_taxonomy.resource_id',
                        to: 'resource_taxonomy.taxonomy_node_id',
                        extra: ['confidence', 'is_predicted']
                    },
                    to: 'taxonomy_nodes.id'
                }
            }
        };
    }
}
