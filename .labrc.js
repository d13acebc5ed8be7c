// lab settings shared by `npm test` and `npm run test:pg`.
module.exports = {
    typescript: true,
    // Globals set by hapi-swagger's bundled swagger-ui dependencies at require time.
    globals: 'CSS,__core-js_shared__,Symbol(react-redux-context)',
    'coverage-exclude': ['node_modules', 'test', 'scripts', 'coverage'],
    timeout: 10000
};
