// Slows down token guessing through the login form: after a number of wrong
// tokens from one address, further attempts are refused for a while. Kept in
// memory: it only has to make online guessing pointless, not survive restarts.

export interface LoginThrottleOptions {
    maxFailures: number;
    windowMs: number;
    /** Addresses tracked at most, so a flood of addresses cannot grow memory. */
    maxAddresses?: number;
    now?: () => number;
}

interface Failures {
    count: number;
    firstAt: number;
}

export class LoginThrottle {

    readonly #options: Required<LoginThrottleOptions>;
    readonly #failures = new Map<string, Failures>();

    constructor(options: LoginThrottleOptions) {

        this.#options = { maxAddresses: 10_000, now: Date.now, ...options };
    }

    /** Seconds until this address may try again, or 0 when it may try now. */
    retryAfter(address: string): number {

        const entry = this.#current(address);
        if (!entry || entry.count < this.#options.maxFailures) {
            return 0;
        }

        return Math.max(1, Math.ceil((entry.firstAt + this.#options.windowMs - this.#options.now()) / 1000));
    }

    fail(address: string): void {

        const entry = this.#current(address);
        if (entry) {
            ++entry.count;
            return;
        }

        if (this.#failures.size >= this.#options.maxAddresses) {
            this.#failures.delete(this.#failures.keys().next().value!);
        }

        this.#failures.set(address, { count: 1, firstAt: this.#options.now() });
    }

    succeed(address: string): void {

        this.#failures.delete(address);
    }

    #current(address: string): Failures | null {

        const entry = this.#failures.get(address);
        if (entry && entry.firstAt + this.#options.windowMs <= this.#options.now()) {
            this.#failures.delete(address);
            return null;
        }

        return entry ?? null;
    }
}
