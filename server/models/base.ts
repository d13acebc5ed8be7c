// Base of every model: UUID keys generated here (so both dialects agree),
// booleans as booleans, timestamps as ISO-8601 UTC strings, JSON columns as
// arrays/objects.

import { randomUUID } from 'node:crypto';
import { Model, type Pojo } from 'objection';

import { nowIso, toIsoTimestamp } from '../time';

export class BaseModel extends Model {

    /** Columns stored as 0/1 on SQLite that must read as booleans. */
    static booleanColumns: readonly string[] = [];
    /** Columns holding instants. */
    static timestampColumns: readonly string[] = [];
    /** Whether the model has created_at/updated_at maintained here. */
    static timestamps = true;
    /** Whether the primary key is a UUID generated on insert. */
    static generatedUuid = true;

    override $beforeInsert(): void {

        const ctor = this.constructor as typeof BaseModel;
        const self = this as unknown as Record<string, unknown>;
        if (ctor.generatedUuid && !self.id) {
            self.id = randomUUID();
        }

        if (ctor.timestamps) {
            const now = nowIso();
            self.created_at ??= now;
            self.updated_at ??= now;
        }
    }

    override $beforeUpdate(): void {

        const ctor = this.constructor as typeof BaseModel;
        if (ctor.timestamps) {
            (this as unknown as Record<string, unknown>).updated_at = nowIso();
        }
    }

    override $parseDatabaseJson(json: Pojo): Pojo {

        const ctor = this.constructor as typeof BaseModel;
        const parsed = super.$parseDatabaseJson(json);
        for (const column of ctor.booleanColumns) {
            if (parsed[column] !== undefined && parsed[column] !== null) {
                parsed[column] = Boolean(parsed[column]);
            }
        }

        for (const column of ctor.timestampColumns) {
            if (parsed[column] !== undefined) {
                parsed[column] = toIsoTimestamp(parsed[column]);
            }
        }

        return parsed;
    }

    override $formatDatabaseJson(json: Pojo): Pojo {

        const ctor = this.constructor as typeof BaseModel;
        const formatted = super.$formatDatabaseJson(json);
        for (const column of ctor.timestampColumns) {
            if (formatted[column] !== undefined) {
                formatted[column] = toIsoTimestamp(formatted[column]);
            }
        }

        return formatted;
    }
}

export const timestampSchema: { type: string[] } = { type: ['string', 'null'] };
export const standardTimestamps = ['created_at', 'updated_at'] as const;
