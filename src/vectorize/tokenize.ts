/**
 * Tokenisation: normalised text → lexical terms (for full-text search and the vector) and
 * the unstemmed words whose character n-grams give the vector its typo tolerance.
 *
 * The text is scanned once, character by character, into runs of two kinds, so mixed text
 * like `用PostgreSQL存储记忆` splits at every script boundary:
 *
 * 1. CJK runs (Han, Hiragana, Katakana, Hangul): character unigrams, then the bigrams of
 *    adjacent characters. Chinese and Japanese are written without spaces and Sage has no
 *    dictionary or model to segment them; most words are one or two characters, so unigrams
 *    give recall and bigrams give precision (数据库 matches 数据 and 据库 as well as each
 *    character). This is the classic CJK bigram approach of search engines. Hangul is
 *    treated the same way, which also catches Korean words inside spaced runs that carry
 *    particles (데이터베이스에).
 *
 * 2. Word runs of letters, digits and combining marks in any other script, possibly joined
 *    by connectors `. _ - / \ : @` into one compound token (identifiers, paths, versions,
 *    dates, e-mail addresses). A compound token yields:
 *      - its pieces: split at connectors, then at case changes (camelCase, PascalCase,
 *        ACRONYMWord). Digits stay attached to the letters before them, because in code they
 *        belong to the name: `parseJSON2` → parse, json2; `int32Array` → int32, array;
 *        `v24`, `utf8`, `sha256`, `es2023` stay whole. Pieces are stopword-filtered and
 *        stemmed.
 *      - whole forms, lowercased and unstemmed, so an exact identifier ranks high:
 *        every camel-cased part (`getusername`), the basename of a path when it has several
 *        parts (`db.ts`), and the whole token when it has several parts (`snake_case_name`,
 *        `src/store/db.ts`, `pg.pool`, `2023-10-05`, `v1.2.3`).
 *    Examples: `getUserName` → get, user, name, getusername; `HTTPServer` → http, server,
 *    httpserver; `src/store/db.ts` → src, store, db, ts, db.ts, src/store/db.ts.
 *
 * Everything else (punctuation, symbols, emoji, whitespace, apostrophes) separates tokens.
 * Terms longer than MAX_TERM_LENGTH are dropped: they are blobs (base64, minified code), and
 * Postgres refuses lexemes over 2 KiB.
 */
import { fold, normalize } from './normalize.ts';
import { stem } from './stem.ts';
import { isStopword } from './stopwords.ts';

/** Scripts written without spaces between words, handled by unigrams + bigrams. */
const CJK_CHAR = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u30FC]$/u;
/** Letters, digits and combining marks of any script. */
const WORD_CHAR = /^[\p{L}\p{N}\p{Mn}\p{Mc}]$/u;

// Character kinds of the scanner.
const OTHER = 1; // separates tokens: space, punctuation, symbols, emoji
const WORD = 2; // letter, digit or mark of a non-CJK script
const CJK = 3;
const CONNECTOR = 4; // joins word runs into one compound token: . _ - / \ : @

/**
 * Kind of each BMP code point, filled lazily (0 = not yet classified). The text is scanned
 * by hand with this table rather than by one big Unicode regular expression: V8 runs long
 * matches of large Unicode classes slowly the first times (a megabyte took most of a second),
 * while a table lookup per character is linear by construction and fast from the first call.
 */
const BMP_KINDS = new Uint8Array(0x10000);
for (let c = 0; c < 0x80; c++) BMP_KINDS[c] = OTHER;
for (let c = 0x30; c <= 0x39; c++) BMP_KINDS[c] = WORD;
for (let c = 0x41; c <= 0x5a; c++) BMP_KINDS[c] = WORD;
for (let c = 0x61; c <= 0x7a; c++) BMP_KINDS[c] = WORD;
for (const ch of '._-/\\:@') BMP_KINDS[ch.charCodeAt(0)] = CONNECTOR;

function classify(cp: number): number {
  if (cp < 0x10000) {
    const known = BMP_KINDS[cp]!;
    if (known !== 0) return known;
    const ch = String.fromCharCode(cp);
    const kind = CJK_CHAR.test(ch) ? CJK : WORD_CHAR.test(ch) ? WORD : OTHER;
    BMP_KINDS[cp] = kind;
    return kind;
  }
  const ch = String.fromCodePoint(cp);
  return CJK_CHAR.test(ch) ? CJK : WORD_CHAR.test(ch) ? WORD : OTHER;
}

const HAS_CONNECTOR = /[._\-/\\:@]/;
const PATH_SEPARATORS = /[/\\]+/;
const PART_SEPARATORS = /[._\-:@]+/;
const HAS_UPPER = /[\p{Lu}\p{Lt}]/u;

/**
 * Case-change pieces of one part, tried in order at each position:
 *   an acronym (with trailing digits) followed by a capitalised word: HTTP|Server, HTTP2|Server
 *   an optional capital and a run of non-capitals (lowercase, other letters, digits): get, User
 *   a run of capitals with trailing digits: JSON2, URL
 * Every character is either a capital or not, so the pieces always cover the whole part.
 */
const CASE_PIECE = /[\p{Lu}\p{Lt}]+\p{N}*(?=[\p{Lu}\p{Lt}]\p{Ll})|[\p{Lu}\p{Lt}]?[^\p{Lu}\p{Lt}]+|[\p{Lu}\p{Lt}]+\p{N}*/gu;
/** Parts longer than this are blobs, not identifiers: they are not split at case changes. */
const MAX_CASE_SPLIT = 1024;

/** Longest term kept, in UTF-16 code units: long enough for URLs, paths and hex digests. */
export const MAX_TERM_LENGTH = 128;
/** Words shorter than this get no n-grams (their few n-grams would mostly be noise). */
export const NGRAM_MIN_WORD = 4;
/** Words longer than this get no n-grams: such words are identifiers or blobs, not typos. */
export const NGRAM_MAX_WORD = 32;

const HAS_LETTER = /\p{L}/u;

export interface Lexed {
  /** Lexical terms in text order, duplicates kept. */
  terms: string[];
  /** Lowercased, unstemmed non-CJK words eligible for character n-grams, in text order. */
  ngramWords: string[];
}

/** Normalises and tokenises raw text: what every consumer of terms and n-gram words starts from. */
export function lex(text: string): Lexed {
  return tokenize(normalize(text));
}

/** Tokenises text that has already been through `normalize`. */
export function tokenize(normalized: string): Lexed {
  const out: Lexed = { terms: [], ngramWords: [] };
  const text = normalized;
  const n = text.length;
  // The compound token being built, as [start, end) of `text` (start < 0: none), and the end
  // of a connector run directly after it that the next word run may continue.
  let start = -1;
  let end = -1;
  let connectorEnd = -1;
  let i = 0;
  while (i < n) {
    // Find the maximal run of one kind starting at i.
    const runStart = i;
    let kind = 0;
    while (i < n) {
      let cp = text.charCodeAt(i);
      let width = 1;
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          width = 2;
        }
      }
      const k = classify(cp);
      if (kind === 0) kind = k;
      else if (k !== kind) break;
      i += width;
    }

    if (kind === WORD) {
      if (start >= 0 && connectorEnd === runStart) {
        end = i; // continues the compound: foo.bar, src/store/db
        connectorEnd = -1;
        continue;
      }
      if (start >= 0) addCompound(text.slice(start, end), out);
      start = runStart;
      end = i;
      connectorEnd = -1;
    } else if (kind === CONNECTOR && start >= 0 && end === runStart) {
      connectorEnd = i; // may join the next word run; trailing connectors are dropped
    } else {
      if (start >= 0) addCompound(text.slice(start, end), out);
      start = -1;
      connectorEnd = -1;
      if (kind === CJK) addCjkRun(text.slice(runStart, i), out);
    }
  }
  if (start >= 0) addCompound(text.slice(start, end), out);
  return out;
}

function addCjkRun(run: string, out: Lexed): void {
  const terms = out.terms;
  const first = terms.length;
  for (let i = 0; i < run.length; ) {
    // One code point: rare Han characters are astral (a surrogate pair).
    const width = run.charCodeAt(i) >= 0xd800 && run.charCodeAt(i) <= 0xdbff && i + 1 < run.length ? 2 : 1;
    terms.push(run.slice(i, i + width));
    i += width;
  }
  const last = terms.length;
  for (let k = first + 1; k < last; k++) terms.push(terms[k - 1]! + terms[k]!);
}

function addCompound(token: string, out: Lexed): void {
  if (!HAS_CONNECTOR.test(token)) {
    addPart(token, out);
    return;
  }
  const segments = token.split(PATH_SEPARATORS);
  let parts = 0;
  let lastSegmentParts = 0;
  for (const segment of segments) {
    lastSegmentParts = 0;
    for (const part of segment.split(PART_SEPARATORS)) {
      if (part.length === 0) continue;
      addPart(part, out);
      parts++;
      lastSegmentParts++;
    }
  }
  if (segments.length > 1 && lastSegmentParts > 1) addWhole(segments[segments.length - 1]!, out);
  if (parts > 1) addWhole(token, out);
}

/** One connector-free part: its case pieces, then the part itself if it had several. */
function addPart(part: string, out: Lexed): void {
  if (part.length > MAX_CASE_SPLIT || !HAS_UPPER.test(part)) {
    addPiece(fold(part), out);
    return;
  }
  let pieces = 0;
  CASE_PIECE.lastIndex = 0;
  for (let m = CASE_PIECE.exec(part); m !== null; m = CASE_PIECE.exec(part)) {
    addPiece(fold(m[0]), out);
    pieces++;
  }
  if (pieces > 1) addWhole(part, out);
}

function addPiece(word: string, out: Lexed): void {
  if (word.length > MAX_TERM_LENGTH || isStopword(word)) return;
  if (word.length >= NGRAM_MIN_WORD && word.length <= NGRAM_MAX_WORD && HAS_LETTER.test(word)) out.ngramWords.push(word);
  out.terms.push(stem(word));
}

function addWhole(text: string, out: Lexed): void {
  if (text.length <= MAX_TERM_LENGTH) out.terms.push(fold(text));
}
