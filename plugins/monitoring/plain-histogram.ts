// A Prometheus histogram kept in plain numbers. prom-client's Histogram hashes
// the labels and builds a closure on every observation; this one, observed on
// every request and every connection checkout, finds the bucket and adds one.
// The cumulative bucket lines are built when /metrics is scraped.

interface Series {
    /** Observations per bucket (not cumulative); the last slot is +Inf. */
    counts: number[];
    sum: number;
    count: number;
}

interface Line {
    labels: Record<string, string | number>;
    value: number;
    metricName: string;
}

export class PlainHistogram {

    readonly type = 'histogram';
    readonly aggregator = 'sum';
    private readonly series = new Map<string, Series>();

    constructor(
        readonly name: string,
        readonly help: string,
        /** Upper bounds, ascending, in the unit observed. */
        private readonly buckets: readonly number[],
        /** The one label the series are split by, if any. */
        private readonly labelName: string | null = null
    ) {}

    observe(value: number, label = ''): void {

        let series = this.series.get(label);
        if (!series) {
            series = { counts: new Array(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
            this.series.set(label, series);
        }

        let i = 0;
        while (i < this.buckets.length && value > this.buckets[i]!) {
            ++i;
        }

        ++series.counts[i]!;
        series.sum += value;
        ++series.count;
    }

    /** The series in the form prom-client's registry prints (registry.registerMetric). */
    async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Line[] }> {

        const values: Line[] = [];
        for (const [label, series] of this.series) {
            const base: Record<string, string> = this.labelName === null ? {} : { [this.labelName]: label };
            let cumulative = 0;
            for (let i = 0; i <= this.buckets.length; ++i) {
                cumulative += series.counts[i]!;
                values.push({ labels: { ...base, le: i < this.buckets.length ? this.buckets[i]! : '+Inf' }, value: cumulative, metricName: `${this.name}_bucket` });
            }

            values.push({ labels: base, value: series.sum, metricName: `${this.name}_sum` });
            values.push({ labels: base, value: series.count, metricName: `${this.name}_count` });
        }

        return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
    }

    reset(): void {

        this.series.clear();
    }
}
