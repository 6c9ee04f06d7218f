import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collapseWhitespace } from '../../src/memory/derive.ts';

/** The definition collapseWhitespace replaces (content hashes depend on it staying the same). */
const reference = (s: string) => s.replace(/\s+/g, ' ').trim();

test('collapseWhitespace is replace(/\\s+/g, " ").trim() on every kind of whitespace', () => {
  const spaces = ['\t', '\n', '\v', '\f', '\r', ' ', '\u00a0', '\u1680', '\u2000', '\u2005', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff'];
  const others = ['a', 'b', '界', '\u200b', '\u0085', '\u180e', '😀', '\ud800', 'x y'];
  const fixed = ['', ' ', '  ', 'a', ' a', 'a ', ' a ', 'a b', 'a  b', 'a\tb', 'a \nb', '\n\na b\n', 'a b c', 'é\u00a0é'];
  for (const s of fixed) assert.equal(collapseWhitespace(s), reference(s), JSON.stringify(s));
  // Every whitespace character alone, doubled and between words.
  for (const w of spaces) for (const s of [w, w + w, `a${w}b`, `a ${w}b`, `${w}a`, `a${w}`]) assert.equal(collapseWhitespace(s), reference(s), JSON.stringify(s));
  // Random strings over whitespace and other characters (a fixed seed: the same cases every run).
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const alphabet = [...spaces, ...others];
  for (let k = 0; k < 5000; k++) {
    let s = '';
    const len = next() % 12;
    for (let i = 0; i < len; i++) s += alphabet[next() % alphabet.length];
    assert.equal(collapseWhitespace(s), reference(s), JSON.stringify(s));
  }
});

test('collapseWhitespace returns an already collapsed text itself', () => {
  const s = 'already collapsed text';
  assert.equal(collapseWhitespace(s), s);
});
