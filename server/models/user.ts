import { BaseModel, standardTimestamps } from './base';

export class User extends BaseModel {

    declare id: string;
    declare email: string;
    declare display_name: string | null;
    declare role: 'reader' | 'editor' | 'admin';
    declare created_at: string;
    declare updated_at: string;

    static override tableName = 'users';
    static override timestampColumns = standardTimestamps;

    static override jsonSchema = {
        type: 'object',
        required: ['email'],
        properties: {
            id: { type: 'string' },
            email: { type: 'string', minLength: 3, maxLength: 320 },
            display_name: { type: ['string', 'null'], maxLength: 200 },
            role: { type: 'string', enum: ['reader', 'editor', 'admin'] }
        }
    };
}
