import { BaseModel } from './base';

/** Membership of a resource in a collection (composite key). */
export class CollectionResource extends BaseModel {

    declare collection_id: string;
    declare resource_id: string;
    declare added_at: string;

    static override tableName = 'collection_resources';
    static override idColumn = ['collection_id', 'resource_id'];
    static override generatedUuid = false;
    static override timestamps = false;
    static override timestampColumns = ['added_at'];

    override $beforeInsert(): void {

        this.added_at ??= new Date().toISOString();
    }
}
