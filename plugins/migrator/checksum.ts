// Order-independent content checksums: the sum (mod 2^128) of a hash of each
// row's normalized values. A sum, unlike XOR, does not cancel duplicated
// rows, so a duplicate or a missing row changes the result.

import { hash } from 'node:crypto';

import { normalizedValue } from './values';
import type { ColumnInfo } from './types';

const MOD = 1n << 128n;

/** The normalized text of a row: length-prefixed values, so no separator can be forged by content. */
export function normalizedRow(columns: readonly ColumnInfo[], row: Record<string, unknown>): string {

    let out = '';
    for (const column of columns) {
        const value = normalizedValue(column.kind, column.name, row[column.name]);
        out += value.length + ':' + value;
    }

    return out;
}

export function rowHash(columns: readonly ColumnInfo[], row: Record<string, unknown>): string {

    return hash('md5', normalizedRow(columns, row), 'hex');
}

export class TableChecksum {

    private sum: bigint;

    constructor(initial: string | null = null) {

        this.sum = initial ? BigInt(`0x${initial}`) : 0n;
    }

    add(columns: readonly ColumnInfo[], row: Record<string, unknown>): void {

        this.sum = (this.sum + BigInt(`0x${rowHash(columns, row)}`)) % MOD;
    }

    toString(): string {

        return this.sum.toString(16).padStart(32, '0');
    }
}
