/**
 * Lexemes are stored without compression (STORAGE EXTERNAL), like the vectors (004). A memory's
 * tsvector (~2 KB: every distinct term with its positions) does not compress: at 10,000
 * imported memories pglz gave up on every one of them, after trying on every insert whose row
 * needed toasting (pglz_compress was ~2.5% of PostgreSQL's import CPU). The value is stored
 * exactly as before — inline while the row fits, otherwise out of line uncompressed, which
 * is where the failed attempt left it anyway — so reads are unchanged. Applies to rows
 * written from now on; stored rows stay valid as they are.
 */
export const sql = `
ALTER TABLE memories ALTER COLUMN lexemes SET STORAGE EXTERNAL;
`;
