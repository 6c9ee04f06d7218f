/**
 * A conservative English stemmer: the inflectional part of Porter2 (the Snowball "english"
 * stemmer, https://snowballstem.org/algorithms/english/stemmer.html), written out here.
 *
 * Kept from Porter2, with its definitions of vowels, R1/R2 and short syllables:
 *   step 1a  plurals               databases → database, memories → memori, classes → class
 *   step 1b  -ed/-ing (+ -edly, -ingly), undoubling and e-restoring: running → run,
 *            hoping → hope, connected → connect, agreed → agree
 *   step 1c  final y → i          memory → memori (so it meets memories)
 *   step 2   only the -ly endings quickly → quick, usually → usual, carefully → careful
 *   step 5   final e / double l   database → databas, use → use (short syllable kept)
 *   the exceptional forms        only, early, news, dying, ...
 * Left out: Porter2's derivational steps (-ation, -ize, -ness, -ful, -ive, -ment ...). They
 * merge words whose meanings differ (generous/general, university/universe) and a memory
 * search wants precision on content words; typo-tolerant character n-grams cover some of
 * the recall they would add.
 *
 * Stemming is deterministic and applied identically to queries and documents, so a stem only
 * has to be consistent, not a real word ("databas"). Only plain lowercase ASCII words of three
 * or more letters are stemmed; anything with digits, accents or other scripts passes through.
 */

const STEMMABLE = /^[a-z]{3,}$/;

/** Porter2's exceptional forms: irregular words and words the rules would over-stem. */
const EXCEPTIONS: ReadonlyMap<string, string> = new Map([
  ['skis', 'ski'],
  ['skies', 'sky'],
  ['dying', 'die'],
  ['lying', 'lie'],
  ['tying', 'tie'],
  ['idly', 'idl'],
  ['gently', 'gentl'],
  ['ugly', 'ugli'],
  ['early', 'earli'],
  ['only', 'onli'],
  ['singly', 'singl'],
  ['sky', 'sky'],
  ['news', 'news'],
  ['howe', 'howe'],
  ['atlas', 'atlas'],
  ['cosmos', 'cosmos'],
  ['bias', 'bias'],
  ['andes', 'andes'],
]);

/** Words left alone once plurals are removed (Porter2's second exception list). */
const AFTER_1A: ReadonlySet<string> = new Set(['inning', 'outing', 'canning', 'herring', 'earring', 'proceed', 'exceed', 'succeed']);

/** Porter2 puts R1 after these prefixes so that e.g. generate/general keep their stems apart. */
const R1_PREFIXES = ['gener', 'commun', 'arsen'];

const DOUBLES: ReadonlySet<string> = new Set(['bb', 'dd', 'ff', 'gg', 'mm', 'nn', 'pp', 'rr', 'tt']);
/** Letters after which a final "li" is an -ly suffix (Porter2's valid li-endings). */
const LI_ENDINGS = 'cdeghkmnrt';
/** Porter2's -ly suffixes of step 2, longest first so the first match is the longest. */
const LY_SUFFIXES = ['lessli', 'fulli', 'entli', 'ousli', 'abli', 'alli', 'bli', 'li'];

/** y is a vowel; Y (a consonant y, marked below) is not. */
function isVowel(ch: string | undefined): boolean {
  return ch === 'a' || ch === 'e' || ch === 'i' || ch === 'o' || ch === 'u' || ch === 'y';
}

/** Start of the region after the first non-vowel that follows a vowel, from `from` on. */
function regionAfter(w: string, from: number): number {
  for (let i = from + 1; i < w.length; i++) {
    if (!isVowel(w[i]) && isVowel(w[i - 1])) return i + 1;
  }
  return w.length;
}

function hasVowel(w: string, end: number): boolean {
  for (let i = 0; i < end; i++) if (isVowel(w[i])) return true;
  return false;
}

/**
 * Ends in a short syllable: non-vowel, vowel, non-vowel other than w/x/Y; or, for a
 * two-letter word, vowel then non-vowel.
 */
function endsShort(w: string): boolean {
  const n = w.length;
  if (n === 2) return isVowel(w[0]) && !isVowel(w[1]);
  if (n < 3) return false;
  const last = w[n - 1]!;
  return !isVowel(w[n - 3]) && isVowel(w[n - 2]) && !isVowel(last) && last !== 'w' && last !== 'x' && last !== 'Y';
}

/**
 * Recent stems. Word frequencies are Zipfian, so even a small memo removes most of the work
 * on long texts. It only caches a pure function: output never depends on its contents.
 */
const memo = new Map<string, string>();
const MEMO_LIMIT = 20_000;

/** The stem of one lowercase word; words that are not plain a-z pass through unchanged. */
export function stem(word: string): string {
  let stemmed = memo.get(word);
  if (stemmed === undefined) {
    stemmed = computeStem(word);
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(word, stemmed);
  }
  return stemmed;
}

function computeStem(word: string): string {
  if (!STEMMABLE.test(word)) return word;
  const exception = EXCEPTIONS.get(word);
  if (exception !== undefined) return exception;

  // Mark consonant y (initial, or after a vowel) as Y.
  let w = word[0] === 'y' ? 'Y' + word.slice(1) : word;
  for (let i = 1; i < w.length; i++) {
    if (w[i] === 'y' && isVowel(w[i - 1])) w = w.slice(0, i) + 'Y' + w.slice(i + 1);
  }

  let r1 = -1;
  for (const prefix of R1_PREFIXES) if (w.startsWith(prefix)) r1 = prefix.length;
  if (r1 < 0) r1 = regionAfter(w, 0);
  const r2 = regionAfter(w, r1);

  // Step 1a: plurals.
  if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('ied') || w.endsWith('ies')) w = w.length > 4 ? w.slice(0, -2) : w.slice(0, -1);
  else if (w.endsWith('us') || w.endsWith('ss')) {
    // status, class: not plurals
  } else if (w.endsWith('s') && hasVowel(w, w.length - 2)) w = w.slice(0, -1);
  if (AFTER_1A.has(w)) return w;

  // Step 1b: -eed, -ed, -ing.
  const eed = w.endsWith('eedly') ? 5 : w.endsWith('eed') ? 3 : 0;
  if (eed > 0) {
    if (w.length - eed >= r1) w = w.slice(0, -eed) + 'ee';
  } else {
    const suffix = w.endsWith('ingly') ? 5 : w.endsWith('edly') ? 4 : w.endsWith('ing') ? 3 : w.endsWith('ed') ? 2 : 0;
    if (suffix > 0 && hasVowel(w, w.length - suffix)) {
      w = w.slice(0, -suffix);
      if (w.endsWith('at') || w.endsWith('bl') || w.endsWith('iz')) w += 'e';
      else if (DOUBLES.has(w.slice(-2))) w = w.slice(0, -1);
      else if (r1 >= w.length && endsShort(w)) w += 'e';
    }
  }

  // Step 1c: final y after a consonant (not the first letter) becomes i.
  const lastChar = w[w.length - 1];
  if ((lastChar === 'y' || lastChar === 'Y') && w.length > 2 && !isVowel(w[w.length - 2])) w = w.slice(0, -1) + 'i';

  // Step 2, -ly endings only (the longest matching suffix decides; it must lie in R1).
  const ly = LY_SUFFIXES.find((s) => w.endsWith(s));
  if (ly !== undefined && w.length - ly.length >= r1) {
    if (ly === 'lessli' || ly === 'fulli' || ly === 'entli' || ly === 'ousli' || ly === 'alli') w = w.slice(0, -2);
    else if (ly === 'abli' || ly === 'bli') w = w.slice(0, -1) + 'e';
    else if (LI_ENDINGS.includes(w[w.length - 3] ?? '')) w = w.slice(0, -2);
  }

  // Step 5: final e, and the second l of a final ll.
  if (w.endsWith('e')) {
    const at = w.length - 1;
    if (at >= r2 || (at >= r1 && !endsShort(w.slice(0, -1)))) w = w.slice(0, -1);
  } else if (w.endsWith('ll') && w.length - 1 >= r2) {
    w = w.slice(0, -1);
  }

  return w.replaceAll('Y', 'y');
}
