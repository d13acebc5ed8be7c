// What each dialect's monitoring probe provides: the figures only that
// engine can report, and how they appear in Prometheus.

import type { Knex } from 'knex';

export type FigureValue = number | string | null | Record<string, number>;

export interface MetricSpec {
    /** Field of the probe's figures. */
    field: string;
    /** Prometheus metric name. */
    name: string;
    help: string;
    type: 'gauge' | 'counter';
    /** For a field holding { label value: number }: the label's name. */
    label?: string;
}

export interface ProbeContext {
    /** Connection used only by monitoring, so figures come even when the pool is full. */
    statsKnex: Knex;
    /** The application's knex (for its connection settings). */
    appKnex: Knex;
    /** Query errors seen on the application pool, by driver code. */
    errorCount(code: string): number;
}

export interface DatabaseProbe {
    /** Key of the dialect's section in /monitoring/database. */
    readonly section: 'postgres' | 'sqlite';
    readonly metrics: readonly MetricSpec[];
    collect(context: ProbeContext): Promise<Record<string, FigureValue>>;
}
