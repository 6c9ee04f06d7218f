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
  // At most 3 bytes per UTF-16 code unit: most terms are short enough to need no count.
  return term.length > 0 && (term.length * 3 <= MAX_LEXEME_BYTES || Buffer.byteLength(term, 'utf8') <= MAX_LEXEME_BYTES);
}

/** WordEntryPos: the weight in the top two bits (A = 3 … D = 0), the position in the low 14. */
const WEIGHT_BITS: Readonly<Record<Weight, number>> = { A: 3 << 14, B: 2 << 14, C: 1 << 14, D: 0 };
const WEIGHT_LABELS = ['D', 'C', 'B', 'A'] as const;

/**
 * Each distinct usable term with its packed positions (WordEntryPos), in first-occurrence
 * order. Positions continue across runs so that proximity within a run is kept and runs do not
 * look adjacent. A position repeats only at PostgreSQL's cap (16383, in a text of more than
 * 16,000 terms): the repeat is dropped, as PostgreSQL drops it (the first, from the earlier
 * run, keeps its weight), so every list is strictly ascending.
 */
function weightedPositions(runs: ReadonlyArray<{ terms: readonly string[]; weight: Weight }>): Map<string, number[]> {
  const positions = new Map<string, number[]>();
  let position = 0;
  for (const run of runs) {
    const weight = WEIGHT_BITS[run.weight];
    for (const term of run.terms) {
      position = Math.min(position + 1, MAX_POSITION);
      let list = positions.get(term);
      if (!list) {
        if (positions.size >= MAX_DISTINCT_LEXEMES || !usable(term)) continue;
        list = [];
        positions.set(term, list);
      }
      if (list.length < MAX_POSITIONS_PER_LEXEME && (list.length === 0 || (list[list.length - 1]! & MAX_POSITION) < position)) list.push(position | weight);
    }
    position = Math.min(position + 8, MAX_POSITION);
  }
  return positions;
}

/** One tsvector literal from several weighted runs of terms (the input syntax, for tsvectorin). */
export function tsvectorLiteral(runs: ReadonlyArray<{ terms: readonly string[]; weight: Weight }>): string {
  const parts: string[] = [];
  for (const [term, list] of weightedPositions(runs)) {
    parts.push(`${quoteLexeme(term)}:${list.map((p) => `${p & MAX_POSITION}${WEIGHT_LABELS[p >>> 14]}`).join(',')}`);
  }
  return parts.join(' ');
}

/**
 * The same tsvector as `tsvectorLiteral`, in PostgreSQL's binary wire format (what tsvectorrecv
 * reads): int32 count, then per lexeme its UTF-8 bytes, a NUL, uint16 count of positions and
 * the uint16 WordEntryPos values, all big-endian. Cheaper to build than the literal (no quoting,
 * no number formatting) and cheaper for PostgreSQL to read (no parsing; it sorts the lexemes,
 * as tsvectorin does). Terms never contain NUL: the tokenizer keeps letters and digits only.
 */
export function tsvectorBinary(runs: ReadonlyArray<{ terms: readonly string[]; weight: Weight }>): Buffer {
  const positions = weightedPositions(runs);
  let bytes = 4;
  for (const [term, list] of positions) bytes += utf8Length(term) + 3 + 2 * list.length;
  const buf = Buffer.allocUnsafe(bytes);
  buf.writeInt32BE(positions.size, 0);
  let at = 4;
  for (const [term, list] of positions) {
    at += buf.write(term, at, 'utf8');
    buf[at++] = 0;
    buf.writeUInt16BE(list.length, at);
    at += 2;
    for (const p of list) {
      buf.writeUInt16BE(p, at);
      at += 2;
    }
  }
  return buf;
}

/** UTF-8 length of a string without encoding it (lone surrogates count as U+FFFD, as Buffer writes them). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: 2 code units, 4 bytes
      i++;
    } else n += 2;
  }
  return n;
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
