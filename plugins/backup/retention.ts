// Which backups a retention policy keeps: the newest `keepLast`, plus the
// newest backup of each of the last `daily` days, `weekly` ISO weeks and
// `monthly` months that have a backup (grandfather-father-son), minus
// anything older than `maxAgeDays`. The newest backup is always kept, so a
// prune can never leave a database without a backup.

export interface RetentionPolicy {
    keepLast: number;
    daily: number;
    weekly: number;
    monthly: number;
    /** 0 means no age limit. */
    maxAgeDays: number;
}

export interface RetentionCandidate {
    name: string;
    createdAt: Date;
}

export interface RetentionPlan {
    keep: Array<{ name: string; reasons: string[] }>;
    remove: string[];
}

const DAY_MS = 86_400_000;

function dayKey(date: Date): string {

    return date.toISOString().slice(0, 10);
}

function isoWeekKey(date: Date): string {

    // ISO 8601: the week belongs to the year of its Thursday.
    const thursday = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
    thursday.setUTCDate(thursday.getUTCDate() + 3 - ((thursday.getUTCDay() + 6) % 7));
    const firstThursday = new Date(Date.UTC(thursday.getUTCFullYear(), 0, 4));
    const week = 1 + Math.round(((thursday.getTime() - firstThursday.getTime()) / DAY_MS - 3 + ((firstThursday.getUTCDay() + 6) % 7)) / 7);
    return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

function monthKey(date: Date): string {

    return date.toISOString().slice(0, 7);
}

export function planRetention(candidates: readonly RetentionCandidate[], policy: RetentionPolicy, now = new Date()): RetentionPlan {

    const sorted = [...candidates].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.name.localeCompare(a.name));
    const reasons = new Map<string, string[]>(sorted.map((candidate) => [candidate.name, []]));
    const tooOld = (candidate: RetentionCandidate) => policy.maxAgeDays > 0 && now.getTime() - candidate.createdAt.getTime() > policy.maxAgeDays * DAY_MS;

    sorted.slice(0, policy.keepLast).forEach((candidate, index) => reasons.get(candidate.name)!.push(`last ${index + 1}`));

    const buckets: Array<[string, number, (date: Date) => string]> = [
        ['daily', policy.daily, dayKey],
        ['weekly', policy.weekly, isoWeekKey],
        ['monthly', policy.monthly, monthKey]
    ];

    for (const [label, count, key] of buckets) {
        const seen = new Set<string>();
        for (const candidate of sorted) {
            const bucket = key(candidate.createdAt);
            if (seen.has(bucket)) {
                continue;
            }

            if (seen.size >= count) {
                break;
            }

            seen.add(bucket);
            reasons.get(candidate.name)!.push(`${label} ${bucket}`);
        }
    }

    const plan: RetentionPlan = { keep: [], remove: [] };
    sorted.forEach((candidate, index) => {

        const why = reasons.get(candidate.name)!;
        if (index === 0) {
            plan.keep.push({ name: candidate.name, reasons: why.length ? why : ['newest'] });
            return;
        }

        if (why.length && !tooOld(candidate)) {
            plan.keep.push({ name: candidate.name, reasons: why });
            return;
        }

        plan.remove.push(candidate.name);
    });

    return plan;
}
