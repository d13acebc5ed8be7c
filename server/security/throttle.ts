// The database half of the one failure throttle for every credential check
// (console login, the admin bearer token, API tokens): failures counted in
// `auth_failures`, so every instance sees them and a restart forgets nothing.
// The other half is each instance's admission count (admission.ts), which
// decides a correct credential without a database round trip.
//
// The contract (README, "Login and token throttle"):
//   - Failures are counted per subject: the client's device (a device cookie
//     from an earlier success, server/security/device-cookie.ts) while it has
//     budget left, otherwise its address (TRUST_PROXY).
//   - A correct credential is never counted, so someone else's guessing from
//     a shared address never locks out a known device.
//   - A wrong credential costs one failure; once a subject has spent its
//     budget every attempt under it gets 429 until its window ends, whatever
//     the credential. The count is one conditional upsert, atomic on both
//     engines, so concurrent instances cannot overspend a budget.

import type { Knex } from 'knex';

export const MAX_FAILURES = 10;
export const FAILURE_WINDOW_MS = 15 * 60_000;

export interface ThrottleSettings {
    maxFailures: number;
    windowMs: number;
    now?: () => number;
}

/** Who an attempt comes from: its device (when it has a valid device cookie) and its address. */
export interface AttemptSource {
    device: string | null;
    address: string;
}

export function subjectsOf(source: AttemptSource): string[] {

    return [...(source.device ? [`device:${source.device}`] : []), `address:${source.address}`];
}

interface FailureRow {
    subject: string;
    failures: number;
    window_ends_at: string;
}

export class FailureThrottle {

    readonly #knex: () => Knex;
    readonly #settings: Required<ThrottleSettings>;

    constructor(knex: () => Knex, settings: ThrottleSettings) {

        this.#knex = knex;
        this.#settings = { now: Date.now, ...settings };
    }

    /** Seconds until a correct credential from this source is accepted (0: now). */
    async lockedFor(source: AttemptSource): Promise<number> {

        const now = this.#settings.now();
        const rows: FailureRow[] = await this.#knex()('auth_failures')
            .select('subject', 'failures', 'window_ends_at')
            .whereIn('subject', subjectsOf(source));

        let wait = Infinity;
        for (const subject of subjectsOf(source)) {
            const row = rows.find((candidate) => candidate.subject === subject);
            wait = Math.min(wait, row ? this.#waitOf(row, now) : 0);
        }

        return wait;
    }

    /**
     * Counts a wrong credential against the first subject with budget left.
     * Returns 0 when the failure was within a budget (answer 401), or the
     * seconds until the source may try again (answer 429).
     */
    async fail(source: AttemptSource): Promise<number> {

        for (const subject of subjectsOf(source)) {
            if (await this.#count(subject)) {
                return 0;
            }
        }

        return await this.lockedFor(source);
    }

    /** True when the failure was counted; false when the subject had no budget left. */
    async #count(subject: string): Promise<boolean> {

        const knex = this.#knex();
        const now = new Date(this.#settings.now()).toISOString();
        const windowEndsAt = new Date(this.#settings.now() + this.#settings.windowMs).toISOString();
        const expired = knex.raw('?? <= ?', ['auth_failures.window_ends_at', now]);

        // Atomic on both engines: a new window, one more failure, or (budget
        // spent) no change and no row returned.
        const rows = await knex('auth_failures')
            .insert({ subject, failures: 1, window_ends_at: windowEndsAt })
            .onConflict('subject')
            .merge({
                failures: knex.raw('CASE WHEN ? THEN 1 ELSE ?? + 1 END', [expired, 'auth_failures.failures']),
                window_ends_at: knex.raw('CASE WHEN ? THEN ? ELSE ?? END', [expired, windowEndsAt, 'auth_failures.window_ends_at'])
            })
            .where(expired)
            .orWhere('auth_failures.failures', '<', this.#settings.maxFailures)
            .returning('failures');
        return rows.length > 0;
    }

    #waitOf(row: FailureRow, now: number): number {

        const endsAt = Date.parse(row.window_ends_at);
        if (row.failures < this.#settings.maxFailures || endsAt <= now) {
            return 0;
        }

        return Math.max(1, Math.ceil((endsAt - now) / 1000));
    }
}
