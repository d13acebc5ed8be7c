// Search filters as SQL conditions on the resources row aliased `r`: one
// definition for both engines, except subject containment, which each engine
// writes in its own JSON dialect.

import type { Knex } from 'knex';

import type { SearchFilters } from './types';

export interface FilterSql {
    /** Conditions each prefixed with " AND ", or '' when there are none. */
    sql: string;
    bindings: Knex.RawBinding[];
}

export type SubjectContainment = (subjects: readonly string[]) => { sql: string; bindings: Knex.RawBinding[] };

export function compileFilters(filters: SearchFilters, subjectContains: SubjectContainment): FilterSql {

    const parts: Array<{ sql: string; bindings: Knex.RawBinding[] }> = [];
    if (filters.subject?.length) {
        parts.push(subjectContains(filters.subject));
    }

    if (filters.classification_code !== undefined) {
        parts.push({ sql: 'r.classification_code = ?', bindings: [filters.classification_code] });
    }

    if (filters.read_status !== undefined) {
        parts.push({ sql: 'r.read_status = ?', bindings: [filters.read_status] });
    }

    if (filters.min_quality !== undefined) {
        parts.push({ sql: 'r.quality_score >= ?', bindings: [filters.min_quality] });
    }

    return {
        sql: parts.map((part) => ` AND ${part.sql}`).join(''),
        bindings: parts.flatMap((part) => part.bindings)
    };
}
