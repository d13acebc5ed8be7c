// withRetry: runs a unit of work again when the database says the whole
// transaction may be retried (serialization failure, deadlock, SQLite busy).

import type { Dialect } from './types';

export interface RetryOptions {
    /** Total attempts, including the first (default 5). */
    attempts?: number;
    /** First backoff in ms; doubles each attempt (default 20). */
    baseDelayMs?: number;
    /** Upper bound of one backoff in ms (default 1000). */
    maxDelayMs?: number;
    /** Called before each retry (for logging and tests). */
    onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export class RetryExhaustedError extends Error {

    readonly attempts: number;
    override readonly cause: unknown;

    constructor(attempts: number, cause: unknown) {

        super(`Gave up after ${attempts} attempts: ${(cause as Error)?.message ?? cause}`);
        this.name = 'RetryExhaustedError';
        this.attempts = attempts;
        this.cause = cause;
    }
}

/**
 * Runs `work` and, when it fails with an error the dialect calls retryable,
 * waits (exponential backoff with full jitter) and runs it again. `work` must
 * be a whole transaction: retrying a statement inside a failed transaction is
 * never safe. Any other error is rethrown at once.
 */
export async function withRetry<T>(dialect: Pick<Dialect, 'isRetryable'>, work: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {

    const attempts = Math.max(1, options.attempts ?? 5);
    const base = options.baseDelayMs ?? 20;
    const max = options.maxDelayMs ?? 1000;

    for (let attempt = 1; ; ++attempt) {
        try {
            return await work(attempt);
        }
        catch (error) {
            if (!dialect.isRetryable(error)) {
                throw error;
            }

            if (attempt >= attempts) {
                throw new RetryExhaustedError(attempt, error);
            }

            const delay = Math.round(Math.random() * Math.min(max, base * 2 ** (attempt - 1)));
            options.onRetry?.(error, attempt, delay);
            await new Promise((resolve) => setTimeout(resolve, delay));
        }
    }
}
