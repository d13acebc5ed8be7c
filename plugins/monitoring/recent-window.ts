// Percentiles over a recent time window, in fixed memory: the newest samples
// overwrite the oldest, so a burst never grows the process.

export interface WindowSummary {
    /** Samples inside the window. */
    samples: number;
    p50: number | null;
    p95: number | null;
    max: number | null;
}

export class RecentWindow {

    private readonly values: Float64Array;
    private readonly times: Float64Array;
    private next = 0;
    private size = 0;

    constructor(readonly capacity: number, readonly windowMs: number) {

        this.values = new Float64Array(capacity);
        this.times = new Float64Array(capacity);
    }

    add(value: number, now: number): void {

        this.values[this.next] = value;
        this.times[this.next] = now;
        this.next = (this.next + 1) % this.capacity;
        this.size = Math.min(this.size + 1, this.capacity);
    }

    summary(now: number): WindowSummary {

        const recent: number[] = [];
        for (let i = 0; i < this.size; ++i) {
            if (now - this.times[i]! <= this.windowMs) {
                recent.push(this.values[i]!);
            }
        }

        if (!recent.length) {
            return { samples: 0, p50: null, p95: null, max: null };
        }

        recent.sort((a, b) => a - b);
        return {
            samples: recent.length,
            p50: percentile(recent, 0.5),
            p95: percentile(recent, 0.95),
            max: recent[recent.length - 1]!
        };
    }
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], fraction: number): number {

    const rank = Math.max(1, Math.ceil(fraction * sorted.length));
    return sorted[rank - 1]!;
}
