/**
 * Builds tsvector and tsquery values from the vectorizer's own terms. Postgres' text-search
 * parsers do not segment Chinese and would re-split identifiers, so Sage hands Postgres
 * finished lexemes in the literal input syntax instead of asking it to parse text.
 */

/** Postgres limits: a lexeme is < 2 KiB, positions go to 16383, at most 256 positions per lexeme. */
const MAX_LEXEME_BYTES = 2046;
const MAX_POSITION = 16383;
const MAX_POSITIONS_PER_LEXEME = 255;
/** Keeps one tsvector well under Postgres' 1 MiB limit even for the largest accepted text. */
const MAX_DISTINCT_LEXEMES = 20_000;

/** Lexeme weight labels: A ranks highest. Content and tags are A, the user's side of a turn is B. */
export type Weight = 'A' | 'B' | 'C' | 'D';

export function quoteLexeme(term: string): string {
  return `'${term.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function usable(term: string): boolean {
  return term.length > 0 && Buffer.byteLength(term, 'utf8') <= MAX_LEXEME_BYTES;
}

/**
 * One tsvector literal from several weighted runs of terms. Positions continue across runs so
 * that proximity within a run is kept and runs do not look adjacent.
 */
export function tsvectorLiteral(runs: ReadonlyArray<{ terms: readonly string[]; weight: Weight }>): string {
  const positions = new Map<string, string[]>();
  let position = 0;
  for (const run of runs) {
    for (const term of run.terms) {
      position = Math.min(position + 1, MAX_POSITION);
      if (!usable(term)) continue;
      let list = positions.get(term);
      if (!list) {
        if (positions.size >= MAX_DISTINCT_LEXEMES) continue;
        list = [];
        positions.set(term, list);
      }
      if (list.length < MAX_POSITIONS_PER_LEXEME) list.push(`${position}${run.weight}`);
    }
    position = Math.min(position + 8, MAX_POSITION);
  }
  const parts: string[] = [];
  for (const [term, list] of positions) parts.push(`${quoteLexeme(term)}:${list.join(',')}`);
  return parts.join(' ');
}

/** A tsquery literal matching any of the terms (OR), or undefined when there is nothing to match. */
export function anyOfQuery(terms: readonly string[]): string | undefined {
  const usableTerms = [...new Set(terms)].filter(usable);
  return usableTerms.length > 0 ? usableTerms.map(quoteLexeme).join(' | ') : undefined;
}

/** A tsquery literal matching all of the terms (AND), or undefined when there is nothing to match. */
export function allOfQuery(terms: readonly string[]): string | undefined {
  const usableTerms = [...new Set(terms)].filter(usable);
  return usableTerms.length > 0 ? usableTerms.map(quoteLexeme).join(' & ') : undefined;
}
