/** Sage's own version; `build.mjs` checks that it matches package.json. */
export const SAGE_VERSION = '0.1.0';
