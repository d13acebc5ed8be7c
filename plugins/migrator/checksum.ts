// Order-independent content checksums: the sum (mod 2^128) of a hash of each
// row's normalized values. A sum, unlike XOR, does not cancel duplicated
// rows, so a duplicate or a missing row changes the result.

import { hash } from 'node:crypto';

import { normalizedValue } from './values';
import type { ColumnInfo } from './types';

const MOD = 1n << 128n;

// SHA-256 cut to its first 128 bits: on CPUs with SHA instructions it hashes
// a 2 kB row in about half the time MD5 takes. The name is stored with the
// checkpoints, so a resumed run never adds digests of two kinds.
const ALGORITHM = 'sha256';
// "exact": JSON numbers hashed by their decimal value, never through a double.
export const CHECKSUM_ALGORITHM = 'sha256-128-exact';

/** The normalized text of a row: length-prefixed values, so no separator can be forged by content. */
export function normalizedRow(columns: readonly ColumnInfo[], row: Record<string, unknown>): string {

    let out = '';
    for (const column of columns) {
        const value = normalizedValue(column.kind, column.name, row[column.name]);
        out += value.length + ':' + value;
    }

    return out;
}

/** The columns whose normalized values differ between two rows of the same key. */
export function differingColumns(columns: readonly ColumnInfo[], a: Record<string, unknown>, b: Record<string, unknown>): string[] {

    return columns
        .filter((column) => normalizedValue(column.kind, column.name, a[column.name]) !== normalizedValue(column.kind, column.name, b[column.name]))
        .map((column) => column.name);
}

// Rows added between folds: each 32-bit word sum stays below 2^32 × 2^20,
// far inside the integers a double holds exactly.
const FOLD_EVERY = 1 << 20;

export class TableChecksum {

    private sum: bigint;
    // The digests added since the last fold, summed word by word (most
    // significant first): the same total as adding each digest as a 128-bit
    // integer, without a BigInt per row.
    private readonly words = [0, 0, 0, 0];
    private pending = 0;

    constructor(initial: string | null = null) {

        this.sum = initial ? BigInt(`0x${initial}`) : 0n;
    }

    add(columns: readonly ColumnInfo[], row: Record<string, unknown>): void {

        const digest = hash(ALGORITHM, normalizedRow(columns, row), 'buffer');
        this.words[0]! += digest.readUInt32BE(0);
        this.words[1]! += digest.readUInt32BE(4);
        this.words[2]! += digest.readUInt32BE(8);
        this.words[3]! += digest.readUInt32BE(12);
        if (++this.pending === FOLD_EVERY) {
            this.fold();
        }
    }

    toString(): string {

        this.fold();
        return this.sum.toString(16).padStart(32, '0');
    }

    private fold(): void {

        const [a, b, c, d] = this.words.map(BigInt) as [bigint, bigint, bigint, bigint];
        this.sum = (this.sum + (a << 96n) + (b << 64n) + (c << 32n) + d) % MOD;
        this.words.fill(0);
        this.pending = 0;
    }
}
