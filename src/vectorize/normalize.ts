/**
 * Text normalisation: the step that makes visually identical text produce identical terms.
 *
 * Two stages, because identifier splitting needs case: `normalize` cleans and applies NFKC
 * but keeps case (so `getUserName` can still be split at its capitals), and `fold` lowercases
 * each finished piece.
 *
 * Every step is a single linear pass over the string and none can throw on any string,
 * including lone surrogates, NUL bytes and megabyte-sized inputs.
 */

/**
 * Default-ignorable code points are deleted: soft hyphens, joiners, variation selectors (the
 * U+FE0F in many emoji), byte-order marks. They are invisible, so a word interrupted by one
 * should read as the word. ZERO WIDTH SPACE is the exception: writers use it as an invisible
 * word break, so it stays and separates tokens. Applied after NFKC, which can produce some.
 */
const IGNORABLE = /(?!\u200B)\p{Default_Ignorable_Code_Point}/gu;
const HAS_IGNORABLE = /(?!\u200B)\p{Default_Ignorable_Code_Point}/u;

/**
 * NFKC folds compatibility variants onto their plain forms: full-width Latin (`ＰｏｓｔｇｒｅＳＱＬ`),
 * half-width katakana, ligatures (`ﬁ`), circled and superscript digits. Case is kept.
 *
 * Control characters (U+0000 included) and lone surrogates pass through NFKC unchanged (it
 * does not throw on them); the tokenizer classifies them as separators, so they never reach
 * a term.
 */
export function normalize(text: string): string {
  const nfkc = text.normalize('NFKC');
  return HAS_IGNORABLE.test(nfkc) ? nfkc.replace(IGNORABLE, '') : nfkc;
}

/**
 * The two places where full Unicode case folding differs from `toLowerCase` in practice: ß and ς,
 * escaped because esbuild copies regex literals verbatim and one character above U+00FF makes
 * V8 hold the binary's whole bundle source as a two-byte string (build.mjs checks for it).
 */
const FOLD_EXTRA = /[\u00DF\u03C2]/g;

function foldExtra(ch: string): string {
  return ch === 'ß' ? 'ss' : 'σ';
}

/**
 * Case folding of one piece of normalised text: `toLowerCase`, plus ß → ss and final sigma
 * ς → σ as in Unicode case folding, so `STRASSE`/`straße` and `ΟΔΟΣ`/`οδος` meet.
 */
export function fold(piece: string): string {
  const lower = piece.toLowerCase();
  return lower.includes('ß') || lower.includes('ς') ? lower.replace(FOLD_EXTRA, foldExtra) : lower;
}
