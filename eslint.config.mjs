// ESLint: JavaScript's and typescript-eslint's recommended rules, without
// type information (fast, needs no build). `npm run lint`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
    { ignores: ['node_modules/', 'coverage/', 'data/', 'backups/', 'test-artifacts/'] },
    js.configs.recommended,
    tseslint.configs.recommended,
    {
        languageOptions: { globals: globals.node },
        rules: {
            // `any` marks driver and pool internals read on purpose (knex, tarn, pg).
            '@typescript-eslint/no-explicit-any': 'off',
            // A leading underscore names what is left unused on purpose.
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }]
        }
    },
    {
        // knexfile.js and .labrc.js are CommonJS by necessity. lab's coverage
        // parses with @babel/eslint-parser using these options for JavaScript
        // files, and needs it told that there is no Babel config file.
        files: ['**/*.js'],
        languageOptions: { sourceType: 'commonjs', parserOptions: { requireConfigFile: false } },
        rules: { '@typescript-eslint/no-require-imports': 'off' }
    },
    {
        files: ['public/**/*.js'],
        languageOptions: { sourceType: 'script', globals: globals.browser }
    }
);
