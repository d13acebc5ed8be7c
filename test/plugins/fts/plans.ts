// The ranking statement keeps index plans on a library of realistic size,
// once the upkeep has refreshed the statistics after a bulk load: no
// sequential scan of resource_search or resources in the page statement the
// PostgreSQL plugin sends (champion path and full ranking), for frequent,
// middling and rare words, several words and a phrase.

import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import type { Knex } from 'knex';

import { pageSql, refreshChampionsIfStale } from '../../../plugins/fts-postgres/search';
import { analyzeSearchIfStale } from '../../../plugins/fts-postgres/statistics';
import { parseQuery } from '../../../server/search/query';
import { postgresOnly } from '../../helpers/database';
import { createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

const LIBRARY = 20_000;
// Words drawn with a skew (index ⌊n·u³⌋), so the first is in most documents,
// and a fifth of the description words from a uniform tail of TAIL rare words
// (tail0, tail1, …: each in about 1 % of the documents).
const TAIL = 3000;
const WORDS = `history library knowledge science music language culture theory society nature river ancient
modern empire kingdom trade market economy bank system network computer software program database method
design energy water stone metal paper letter story poem novel author reader teacher student research
evidence medicine disease hospital memory garden forest mountain island ocean harbor voyage bridge tower
castle church temple palace family soldier battle treaty republic justice prison freedom election village
factory worker wage budget climate storm winter calendar geometry algebra physics chemistry astronomy
planet telescope compass explorer invention painting sculpture museum archive manuscript catalog grammar
philosophy religion legend festival theater newspaper journal lecture debate argument logic pattern melody
composer architect engineer migration census frontier desert canal railway airport bicycle cattle wheat
coffee cotton copper silver electricity telegraph privacy vaccine protein evolution whale wolf`.split(/\s+/);

interface PlanNode {
    'Node Type': string;
    'Relation Name'?: string;
    'Actual Loops': number;
    Plans?: PlanNode[];
}

/** The scans that ran (a branch behind a false one-time filter never does). */
function scans(node: PlanNode, out: string[] = []): string[] {

    if (node['Relation Name'] && node['Actual Loops'] > 0) {
        out.push(`${node['Node Type']} on ${node['Relation Name']}`);
    }

    for (const child of node.Plans ?? []) {
        scans(child, out);
    }

    return out;
}

/** Inserts `count` generated resources in one statement (the statement triggers index them). */
async function loadLibrary(knex: Knex, count: number): Promise<void> {

    await knex.transaction(async (trx) => {

        // Indexing 20,000 documents in one statement can outlast the pool's statement timeout on a busy machine.
        await trx.raw('SET LOCAL statement_timeout = 0');
        await trx.raw('SELECT setseed(0.22)');
        await trx.raw(`
            INSERT INTO resources (title, description, subject, quality_score, updated_at)
            SELECT (SELECT string_agg(w[1 + floor(n * random() ^ 3)::int + 0 * i], ' ') FROM generate_series(1, 3 + g % 6) t(i)),
                   (SELECT string_agg(CASE WHEN random() < 0.2 THEN 'tail' || floor(random() * ${TAIL})::int
                                           ELSE w[1 + floor(n * random() ^ 3)::int + 0 * i] END, ' ')
                    FROM generate_series(1, 30 + g % 60) t(i)),
                   jsonb_build_array(w[1 + g % n]), (g % 100) / 100.0,
                   now() - make_interval(secs => g)
            FROM generate_series(1, ?) g, (SELECT ?::text[] AS w, cardinality(?::text[]) AS n) v`, [count, WORDS, WORDS]);
        // (i in the index keeps each aggregate in its subquery, drawn per row.)
        // Publishes this backend's table counters now rather than within the
        // next 10 s (what a server's upkeep would wait for on its next tick).
        await trx.raw('SELECT pg_stat_force_next_flush()');
    });
}

describe('fts: ranking plans at library size', () => {

    let t: TestServer;

    before(async () => {

        t = await createTestServer();
    });

    after(async () => {

        await t.stop();
    });

    it('postgres only: after a bulk load the upkeep analyzes the search tables, and no ranking plan scans them sequentially', { ...postgresOnly, timeout: 60_000 }, async () => {

        const knex = t.server.knex;
        await loadLibrary(knex, LIBRARY);
        const analyzed = await analyzeSearchIfStale(knex);
        expect(analyzed).to.include('resource_search');
        expect(await analyzeSearchIfStale(knex)).to.equal([]);
        await refreshChampionsIfStale(knex, 1);

        // The champion path is what a page within the first 500 results runs,
        // for every query; ranking every match is planned through the GIN
        // index too for words in a few percent of the library (for a word in
        // most documents a sequential scan is the right plan, and so it is
        // for counting the matches of a phrase or prefix of such words).
        const [frequent, common, middling] = [WORDS[0]!, WORDS[3]!, WORDS[40]!];
        const cases: Array<[string, boolean]> = [
            ...[frequent, common, middling, 'tail7', `${WORDS[1]} ${WORDS[20]}`, `"${middling} ${WORDS[41]}"`, `${frequent} tail9`]
                .map((text): [string, boolean] => [text, true]),
            ...['tail7', `${middling} tail9`, 'tail123*', `"tail5 ${frequent}"`].map((text): [string, boolean] => [text, false])
        ];
        const found: string[] = [];
        for (const [text, champions] of cases) {
            const page = pageSql(parseQuery(text), {}, 25, 0, champions);
            const { rows } = await knex.raw(`EXPLAIN (ANALYZE, FORMAT JSON) ${page.sql}`, page.bindings);
            const sequential = scans(rows[0]['QUERY PLAN'][0].Plan)
                .filter((scan) => /^Seq Scan on (resource_search|resources|search_lexeme_shards)$/.test(scan));
            found.push(...sequential.map((scan) => `${text} (champions ${champions}): ${scan}`));
        }

        expect(found).to.equal([]);
    });
});
