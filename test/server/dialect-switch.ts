// One dialect switch per feature: outside the dialect modules (dialects/
// folders, the fts-* plugins, files named after a dialect), migrations and
// tests, code asks the dialect object, forDialect() or a fact of
// server/db/url.ts; it never compares a dialect type itself.

import Fs from 'node:fs';
import Path from 'node:path';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

export const lab = Lab.script();
const { describe, it } = lab;

const ROOT = Path.resolve(__dirname, '..', '..');
const SCANNED = ['server', 'plugins', 'scripts'];

// Where dialect branches belong: each of these is one dialect's implementation.
const DIALECT_MODULE = /(^|\/)(dialects|fts-postgres|fts-sqlite)\/|(^|\/)(postgres|sqlite)[^/]*\.ts$/;

const TYPE = `['"](?:postgres|postgresql|sqlite|sqlite3|pg)['"]`;
const DIALECT_BRANCHES: RegExp[] = [
    new RegExp(`(?:===|!==|==|!=)\\s*${TYPE}`),
    new RegExp(`${TYPE}\\s*(?:===|!==|==|!=)`),
    new RegExp(`\\bcase\\s+${TYPE}\\s*:`),
    /\bis(?:Postgres|Postgresql|Sqlite|Pg)\b\s*[=:(]/i
];

function sourceFiles(dir: string): string[] {

    return Fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {

        const path = Path.join(dir, entry.name);
        if (entry.isDirectory()) {
            return entry.name === 'node_modules' ? [] : sourceFiles(path);
        }

        return /\.(ts|js)$/.test(entry.name) ? [path] : [];
    });
}

/** The lines of `source` that branch on a dialect type, as "line: text". */
function dialectBranches(source: string): string[] {

    return source.split('\n').flatMap((line, index) => (DIALECT_BRANCHES.some((pattern) => pattern.test(line)) ? [`${index + 1}: ${line.trim()}`] : []));
}

function scan(): Map<string, string[]> {

    const found = new Map<string, string[]>();
    for (const file of SCANNED.flatMap((dir) => sourceFiles(Path.join(ROOT, dir)))) {
        const relative = Path.relative(ROOT, file).split(Path.sep).join('/');
        if (DIALECT_MODULE.test(relative)) {
            continue;
        }

        const branches = dialectBranches(Fs.readFileSync(file, 'utf8'));
        if (branches.length) {
            found.set(relative, branches);
        }
    }

    return found;
}

describe('dialect switch', () => {

    it('recognises a comparison with a dialect type, in either order, in a switch, or as a flag', () => {

        const branches = [
            `if (engine.type === 'postgres') {`,
            `const pg = config.database.type !== "sqlite";`,
            `return 'pg' === client ? a : b;`,
            `    case 'sqlite':`,
            `const isPostgres = type === dialect;`,
            `if (env.TEST_DIALECT == 'pg') {`
        ];
        for (const line of branches) {
            expect(dialectBranches(line), line).to.have.length(1);
        }

        // Other types, a choice per dialect and a table of names are not branches.
        for (const line of [`if (token.type === 'or') {`, `forDialect(type, { postgres: a, sqlite: b })`, `new Map([['pg', url]])`, `const type = 'postgres';`]) {
            expect(dialectBranches(line), line).to.equal([]);
        }
    });

    it('treats the dialect folders, the fts plugins and per-dialect files as the places for dialect code', () => {

        for (const path of ['server/db/dialects/postgres.ts', 'plugins/monitoring/dialects/sqlite-advisor.ts', 'plugins/fts-postgres/search.ts', 'plugins/backup/postgres.ts', 'plugins/backup/sqlite.ts']) {
            expect(DIALECT_MODULE.test(path), path).to.be.true();
        }

        for (const path of ['server/db/engine.ts', 'server/manifest.ts', 'plugins/backup/engine.ts', 'scripts/bench/memory.ts']) {
            expect(DIALECT_MODULE.test(path), path).to.be.false();
        }
    });

    it('finds no dialect-type comparison in server, plugins or scripts outside the dialect modules', () => {

        const found = scan();
        const unexpected = [...found].flatMap(([file, lines]) => lines.map((line) => `${file}:${line}`));
        expect(unexpected, 'choose the implementation once per feature: the dialect object, forDialect()/onDatabase() or a function of server/db/url.ts').to.equal([]);
    });
});
