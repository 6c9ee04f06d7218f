/**
 * The schema's history, in order. Each migration is SQL run in its own transaction and
 * recorded in `sage_migrations`; a released migration is never edited — add a new one.
 * (SQL lives in TypeScript modules so that both the test runner and the bundled binary load
 * it the same way, with no files to ship beside the binary.)
 */
import { sql as m001 } from './001_init.ts';
import { sql as m002 } from './002_rls.ts';
import { sql as m003 } from './003_capture.ts';
import { sql as m004 } from './004_search_scale.ts';
import { sql as m005 } from './005_scope_statistics.ts';
import { sql as m006 } from './006_lexemes_external.ts';
import { sql as m007 } from './007_pending_list_flush.ts';
import { sql as m008 } from './008_token_revocations.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'init', sql: m001 },
  { version: 2, name: 'rls', sql: m002 },
  { version: 3, name: 'capture', sql: m003 },
  { version: 4, name: 'search_scale', sql: m004 },
  { version: 5, name: 'scope_statistics', sql: m005 },
  { version: 6, name: 'lexemes_external', sql: m006 },
  { version: 7, name: 'pending_list_flush', sql: m007 },
  { version: 8, name: 'token_revocations', sql: m008 },
];
