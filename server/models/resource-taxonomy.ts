import { BaseModel } from './base';

/** Classification of a resource under a taxonomy node (composite key). */
export class ResourceTaxonomy extends BaseModel {

    declare resource_id: string;
    declare taxonomy_node_id: string;
    declare confidence: number;
    declare is_predicted: boolean;
    declare created_at: string;

    static override tableName = 'resource_taxonomy';
    static override idColumn = ['resource_id', 'taxonomy_node_id'];
    static override generatedUuid = false;
    static override timestamps = false;
    static override booleanColumns = ['is_predicted'];
    static override timestampColumns = ['created_at'];

    override $beforeInsert(): void {

        this.created_at ??= new Date().toISOString();
    }
}
