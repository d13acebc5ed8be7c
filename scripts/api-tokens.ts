// Command line for API tokens (API_AUTH=writes|all) in the database of
// DATABASE_URL: the same module the console's API tokens panel uses.
//
//   npm run api-tokens -- create <name>     prints the token once
//   npm run api-tokens -- list [--json]
//   npm run api-tokens -- revoke <name | id>
//
// Exit codes: 0 done, 1 refused or failed (the message says why), 2 usage error.

import { parseArgs } from 'node:util';

import { ConfigError, loadConfig } from '../server/config';
import { createDatabaseEngine } from '../server/db/engine';
import { migrationStatus } from '../server/db/migrations';
import type { DatabaseEngine } from '../server/db/types';
import { DatabaseUrlError, redactSecrets } from '../server/db/url';
import { ApiTokenError, createApiToken, listApiTokens, revokeApiToken, type ApiToken } from '../server/security/api-tokens';

const USAGE = 'usage: npm run api-tokens -- <create <name> | list [--json] | revoke <name | id>>';

class UsageError extends Error {}

function table(tokens: ApiToken[]): string {

    if (!tokens.length) {
        return 'No API tokens. Create one with: npm run api-tokens -- create <name>\n';
    }

    const rows = tokens.map((token) => [token.name, `${token.hint}…`, token.createdAt, token.lastUsedAt ?? 'never', token.revokedAt ? `revoked ${token.revokedAt}` : 'active', token.id]);
    const header = ['NAME', 'TOKEN', 'CREATED', 'LAST USED', 'STATE', 'ID'];
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
    return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n') + '\n';
}

async function run(engine: DatabaseEngine, argv: string[]): Promise<void> {

    const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
    const [command, argument, ...extra] = positionals;
    if (extra.length) {
        throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    }

    const { pending } = await migrationStatus(engine.knex);
    if (pending.length) {
        throw new ApiTokenError(`the database schema is not up to date (${pending.length} pending migration(s)): run \`npm run migrate\` first`, 'invalid');
    }

    switch (command) {
        case 'create': {
            if (argument === undefined) {
                throw new UsageError('create needs a name');
            }

            const { token, secret } = await createApiToken(engine.knex, argument);
            process.stderr.write(`Created API token "${token.name}" (id ${token.id}). It is shown only this once; store it now:\n`);
            process.stdout.write(`${secret}\n`);
            return;
        }

        case 'list': {
            const tokens = await listApiTokens(engine.knex);
            process.stdout.write(values.json ? `${JSON.stringify(tokens, null, 2)}\n` : table(tokens));
            return;
        }

        case 'revoke': {
            if (argument === undefined) {
                throw new UsageError('revoke needs the token\'s name or id');
            }

            const token = await revokeApiToken(engine.knex, argument);
            process.stdout.write(`Revoked API token "${token.name}" (id ${token.id}): it is refused from now on.\n`);
            return;
        }

        default:
            throw new UsageError(command ? `unknown command "${command}"` : 'no command');
    }
}

async function main(): Promise<void> {

    const config = loadConfig();
    const engine = createDatabaseEngine(config.database.url, { ...config.pool, min: 0, max: 1 });
    try {
        await run(engine, process.argv.slice(2));
    }
    finally {
        await engine.destroy();
    }
}

main().then(() => process.exit(0), (error: unknown) => {

    if (error instanceof UsageError || (error as NodeJS.ErrnoException)?.code?.startsWith('ERR_PARSE_ARGS')) {
        console.error(`api-tokens: ${(error as Error).message}\n${USAGE}`);
        process.exit(2);
    }

    const known = error instanceof ApiTokenError || error instanceof ConfigError || error instanceof DatabaseUrlError;
    console.error(`api-tokens: ${known ? (error as Error).message : redactSecrets(String((error as Error)?.stack ?? error))}`);
    process.exit(1);
});
