import { BaseModel, standardTimestamps } from './base';

export class GraphEdge extends BaseModel {

    declare id: string;
    declare source_id: string;
    declare target_id: string;
    declare edge_type: string;
    declare weight: number;
    declare metadata: Record<string, unknown>;
    declare created_at: string;
    declare updated_at: string;

    static override tableName = 'graph_edges';
    static override timestampColumns = standardTimestamps;
    static override jsonAttributes = ['metadata'];

    static override jsonSchema = {
        type: 'object',
        required: ['source_id', 'target_id', 'edge_type'],
        properties: {
            id: { type: 'string' },
            source_id: { type: 'string' },
            target_id: { type: 'string' },
            edge_type: { type: 'string', minLength: 1, maxLength: 64 },
            weight: { type: 'number' },
            metadata: { type: 'object' }
        }
    };
}
