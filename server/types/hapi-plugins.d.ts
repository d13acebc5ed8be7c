// Declarations for the hapi plugins that ship without TypeScript types: only
// the parts this server uses.

declare module '@hapi/cookie' {
    import type { Plugin } from '@hapi/hapi';

    export const plugin: Plugin<void>;
}
