// PostgreSQL indexes every word, as FTS5 does. The 'english' configuration
// drops stop words from the vectors, so a query made only of common words
// ("them", "such") found nothing there while FTS5 (porter unicode61, which
// keeps them) found documents, and a phrase with a stop word ("woman having")
// meant "woman" on PostgreSQL but the exact phrase on SQLite.
// english_nostop is 'english' with a Snowball stemmer that has no stop-word
// list; the vectors, the side table, the statistics and the champion lists
// are rebuilt from resources. Document lengths do not change: they already
// counted every token, as FTS5 does. SQLite: nothing to do.

import type { Knex } from 'knex';

import { dialectOf } from '../server/db/engine';
import { rebuildSearchStorage } from '../server/search/storage';
import { searchVectorFunction } from './20261123000200_search_storage';

export const SEARCH_CONFIGURATION = 'english_nostop';

export async function up(knex: Knex): Promise<void> {

    if (dialectOf(knex).type !== 'postgres') {
        return;
    }

    // The same Snowball stemmer as english_stem, without its StopWords file.
    await knex.raw('CREATE TEXT SEARCH DICTIONARY english_stem_nostop (TEMPLATE = snowball, Language = english)');
    await knex.raw(`CREATE TEXT SEARCH CONFIGURATION ${SEARCH_CONFIGURATION} (COPY = english)`);
    await knex.raw(`ALTER TEXT SEARCH CONFIGURATION ${SEARCH_CONFIGURATION} ALTER MAPPING REPLACE english_stem WITH english_stem_nostop`);
    await knex.raw(searchVectorFunction('CREATE OR REPLACE', SEARCH_CONFIGURATION));
    await rebuildSearchStorage(knex, 'postgres');
}

export async function down(knex: Knex): Promise<void> {

    if (dialectOf(knex).type !== 'postgres') {
        return;
    }

    await knex.raw(searchVectorFunction('CREATE OR REPLACE'));
    await rebuildSearchStorage(knex, 'postgres');
    await knex.raw(`DROP TEXT SEARCH CONFIGURATION IF EXISTS ${SEARCH_CONFIGURATION}`);
    await knex.raw('DROP TEXT SEARCH DICTIONARY IF EXISTS english_stem_nostop');
}
