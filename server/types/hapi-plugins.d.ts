// Declarations for the hapi plugins that ship without TypeScript types: only
// the parts this server uses.

declare module '@hapi/cookie' {
    import type { Plugin } from '@hapi/hapi';

    export const plugin: Plugin<void>;
}

declare module '@hapi/crumb' {
    import type { Plugin, Request, ResponseToolkit, ServerStateCookieOptions } from '@hapi/hapi';

    export interface CrumbOptions {
        key?: string;
        size?: number;
        autoGenerate?: boolean;
        addToViewContext?: boolean;
        cookieOptions?: ServerStateCookieOptions;
        headerName?: string;
        restful?: boolean;
        skip?: (request: Request, h: ResponseToolkit) => boolean;
        enforce?: boolean;
        logUnauthorized?: boolean;
    }

    export const plugin: Plugin<CrumbOptions>;
}
