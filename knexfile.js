// Lets the plain knex CLI (`npx knex migrate:latest`) load the TypeScript
// knexfile and migrations: knex looks for ts-node, which this project does
// not use; tsx's CommonJS hook does the same job.
require('tsx/cjs');
module.exports = require('./knexfile.ts');
