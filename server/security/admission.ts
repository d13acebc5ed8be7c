// This instance's admission count for the failure throttle: every attempt
// reserves one of a subject's `maxFailures` slots before its credential is
// checked, a correct credential gives its slot back, a wrong one keeps it.
// JavaScript runs one check at a time, so however many attempts arrive at
// once, at most `maxFailures` per subject and window are ever answered by
// this instance, and a correct credential is decided without waiting for the
// database (ops routes keep working while the pool is full or the database
// is down). The database counters (throttle.ts) add what other instances
// and earlier runs saw: a subject they spent is locked here as soon as this
// instance counts a failure for it.

export interface AdmissionOptions {
    maxFailures: number;
    windowMs: number;
    /** Subjects tracked at most, so a flood of addresses cannot grow memory. */
    maxSubjects?: number;
    now?: () => number;
}

interface Slots {
    used: number;
    windowEndsAt: number;
}

export class AdmissionCounter {

    readonly #options: Required<AdmissionOptions>;
    readonly #subjects = new Map<string, Slots>();

    constructor(options: AdmissionOptions) {

        this.#options = { maxSubjects: 10_000, now: Date.now, ...options };
    }

    /** Takes a slot from the first subject that has one; null when none has (then see retryAfter). */
    reserve(subjects: readonly string[]): string | null {

        for (const subject of subjects) {
            const slots = this.#current(subject, true)!;
            if (slots.used < this.#options.maxFailures) {
                ++slots.used;
                return subject;
            }
        }

        return null;
    }

    /** Gives back the slot a correct credential took. */
    release(subject: string): void {

        const slots = this.#current(subject, false);
        if (slots && slots.used > 0) {
            --slots.used;
        }
    }

    /** Marks a subject spent until a time the database reported. */
    lock(subject: string, untilMs: number): void {

        const slots = this.#current(subject, true)!;
        slots.used = this.#options.maxFailures;
        slots.windowEndsAt = Math.max(slots.windowEndsAt, untilMs);
    }

    /** Seconds until the first of these subjects has a slot again. */
    retryAfter(subjects: readonly string[]): number {

        const now = this.#options.now();
        const ends = subjects.map((subject) => this.#current(subject, false)?.windowEndsAt ?? now);
        return Math.max(1, Math.ceil((Math.min(...ends) - now) / 1000));
    }

    #current(subject: string, create: boolean): Slots | null {

        const now = this.#options.now();
        const slots = this.#subjects.get(subject);
        if (slots && slots.windowEndsAt > now) {
            return slots;
        }

        this.#subjects.delete(subject);
        if (!create) {
            return null;
        }

        if (this.#subjects.size >= this.#options.maxSubjects) {
            // Maps iterate in insertion order: the first key is the oldest subject.
            this.#subjects.delete(this.#subjects.keys().next().value!);
        }

        const fresh = { used: 0, windowEndsAt: now + this.#options.windowMs };
        this.#subjects.set(subject, fresh);
        return fresh;
    }
}
