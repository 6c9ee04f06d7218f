import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../../src/vectorize/index.ts';
import { stem } from '../../src/vectorize/stem.ts';
import { normalize, fold } from '../../src/vectorize/normalize.ts';
import { STOPWORDS } from '../../src/vectorize/stopwords.ts';

const terms = (text: string): string[] => analyze(text).terms;

test('normalisation: NFKC folds full-width Latin, ligatures and circled digits; case is folded', () => {
  assert.deepEqual(terms('ＰｏｓｔｇｒｅＳＱＬ'), terms('PostgreSQL'));
  assert.deepEqual(terms('ｄａｔａｂａｓｅ'), ['databas']);
  assert.deepEqual(terms('ﬁle'), ['file']);
  assert.deepEqual(terms('port ⑧⓪⑧⓪ x²'), ['port', '8080', 'x2']);
  assert.deepEqual(terms('DATABASE Database database'), ['databas', 'databas', 'databas']);
  assert.deepEqual(terms('STRASSE straße ΟΔΟΣ οδος'), ['strass', 'strass', 'οδοσ', 'οδοσ']);
  assert.equal(fold('ΣΟΦΟΣ'), 'σοφοσ');
});

test('normalisation: invisible characters join words, zero width space separates them', () => {
  assert.deepEqual(terms('data\u00adbase'), ['databas']); // soft hyphen
  assert.deepEqual(terms('data\u200dbase'), ['databas']); // zero width joiner
  assert.deepEqual(terms('zero\u200bwidth'), ['zero', 'width']);
  assert.equal(normalize('a\ufe0fb'), 'ab'); // variation selector
});

test('U+0000, control characters and lone surrogates never throw and never reach a term', () => {
  assert.deepEqual(terms('alpha\u0000beta'), ['alpha', 'beta']);
  assert.deepEqual(terms('alpha\ud800beta\udc00gamma'), ['alpha', 'beta', 'gamma']);
  assert.deepEqual(terms('\ud83d'), []); // half of an emoji
  assert.deepEqual(terms('\u0000\u0001\u001f\u007f\udfff\ud800'), []);
  for (const t of terms('x\u0000y\ud800z\udbff\udc00')) {
    assert.ok(!/[\u0000-\u001f]/.test(t), JSON.stringify(t));
    assert.ok(t.isWellFormed(), JSON.stringify(t));
  }
});

test('English words: stopwords removed, light stemming, numbers kept', () => {
  assert.deepEqual(terms('The runners were running to the databases in 2023 on port 8080 with Node v24.'), [
    'runner',
    'run',
    'databas',
    '2023',
    'port',
    '8080',
    'node',
    'v24',
  ]);
  assert.deepEqual(terms('it is not what I would have done'), ['would', 'done']);
  assert.deepEqual(terms("We'll see, isn't it? I'm sure you're right."), ['see', 'sure', 'right']);
});

test('accented Latin and Cyrillic are words; non-ASCII words are not stemmed', () => {
  assert.deepEqual(terms('Café naïve Ünïcödé'), ['café', 'naïve', 'ünïcödé']);
  assert.deepEqual(terms('Привет мир, базы данных'), ['привет', 'мир', 'базы', 'данных']);
  assert.deepEqual(terms('ПриветМир'), ['привет', 'мир', 'приветмир']);
});

test('stemmer: conservative, deterministic, the same stem for inflected forms', () => {
  const cases: Record<string, string> = {
    running: 'run',
    runs: 'run',
    run: 'run',
    databases: 'databas',
    database: 'databas',
    connected: 'connect',
    connecting: 'connect',
    connects: 'connect',
    connection: 'connection', // derivational suffixes are kept
    hoping: 'hope',
    hopes: 'hope',
    hopped: 'hop',
    memories: 'memori',
    memory: 'memori',
    quickly: 'quick',
    usually: 'usual',
    stopped: 'stop',
    fixes: 'fix',
    classes: 'class',
    class: 'class',
    status: 'status',
    using: 'use',
    used: 'use',
    uses: 'use',
    agreed: 'agre',
    agree: 'agre',
    playing: 'play',
    plays: 'play',
    indexes: 'index',
    indexing: 'index',
    only: 'onli',
    news: 'news',
    generous: 'generous',
    general: 'general',
    postgres: 'postgr',
    postgre: 'postgr',
  };
  for (const [word, expected] of Object.entries(cases)) assert.equal(stem(word), expected, word);
  // Anything that is not plain lowercase a-z passes through.
  for (const word of ['v24', 'json2', 'café', 'ab', '数据', 'x86']) assert.equal(stem(word), word);
  assert.deepEqual(terms('Connecting databases'), terms('connected database'));
});

test('stopwords include the Snowball list and contraction fragments', () => {
  for (const w of ['the', 'and', 'is', 'not', 'don', 'll', 've', 'isn']) assert.ok(STOPWORDS.has(w), w);
  for (const w of ['database', 'node', 'run', 'id']) assert.ok(!STOPWORDS.has(w), w);
});

test('CJK: character unigrams then adjacent bigrams within each run', () => {
  assert.deepEqual(terms('数据库连接'), ['数', '据', '库', '连', '接', '数据', '据库', '库连', '连接']);
  assert.deepEqual(terms('库'), ['库']);
  assert.deepEqual(terms('数据，连接'), ['数', '据', '数据', '连', '接', '连接']); // punctuation ends a run
  assert.deepEqual(terms('データ'), ['デ', 'ー', 'タ', 'デー', 'ータ']); // katakana with prolonged sound mark
  assert.deepEqual(terms('ﾃﾞｰﾀ'), terms('データ')); // half-width katakana via NFKC
  assert.deepEqual(terms('한국어'), ['한', '국', '어', '한국', '국어']);
  assert.deepEqual(terms('接続する'), ['接', '続', 'す', 'る', '接続', '続す', 'する']);
  assert.deepEqual(terms('𠀀𠀁'), ['𠀀', '𠀁', '𠀀𠀁']); // astral Han stays whole code points
});

test('mixed scripts split at every script boundary', () => {
  assert.deepEqual(terms('用PostgreSQL存储记忆'), [
    '用',
    'postgr',
    'sql',
    'postgresql',
    '存',
    '储',
    '记',
    '忆',
    '存储',
    '储记',
    '记忆',
  ]);
  assert.deepEqual(terms('端口8080已占用'), ['端', '口', '端口', '8080', '已', '占', '用', '已占', '占用']);
});

test('identifiers: pieces plus the whole identifier', () => {
  assert.deepEqual(terms('getUserName'), ['get', 'user', 'name', 'getusername']);
  assert.deepEqual(terms('GetUserName'), ['get', 'user', 'name', 'getusername']);
  assert.deepEqual(terms('snake_case_name'), ['snake', 'case', 'name', 'snake_case_name']);
  assert.deepEqual(terms('kebab-case'), ['kebab', 'case', 'kebab-case']);
  assert.deepEqual(terms('src/store/db.ts'), ['src', 'store', 'db', 'ts', 'db.ts', 'src/store/db.ts']);
  assert.deepEqual(terms('pg.Pool'), ['pg', 'pool', 'pg.pool']);
  assert.deepEqual(terms('HTTPServer'), ['http', 'server', 'httpserver']);
  assert.deepEqual(terms('parseJSON2'), ['pars', 'json2', 'parsejson2']); // digits stay with the letters before them
  assert.deepEqual(terms('int32Array'), ['int32', 'array', 'int32array']);
  assert.deepEqual(terms('XMLHttpRequest'), ['xml', 'http', 'request', 'xmlhttprequest']);
  assert.deepEqual(terms('this.getUserName()'), ['get', 'user', 'name', 'getusername', 'this.getusername']);
  assert.deepEqual(terms('__init__'), ['init']);
  assert.deepEqual(terms('--dry-run'), ['dri', 'run', 'dry-run']);
});

test('compound tokens: versions, dates, addresses keep their whole form; trailing punctuation does not', () => {
  assert.deepEqual(terms('v1.2.3'), ['v1', '2', '3', 'v1.2.3']);
  assert.deepEqual(terms('2023-10-05'), ['2023', '10', '05', '2023-10-05']);
  assert.deepEqual(terms('127.0.0.1:5432'), ['127', '0', '0', '1', '5432', '127.0.0.1:5432']);
  assert.deepEqual(terms('user@example.com'), ['user', 'exampl', 'com', 'user@example.com']);
  assert.deepEqual(terms('Use Node.js.'), ['use', 'node', 'js', 'node.js']);
  assert.deepEqual(terms('end. Next'), ['end', 'next']);
});

test('punctuation, symbols and emoji only: no terms', () => {
  for (const text of ['', '   ', '!!! ??? ...', '🎉🚀✨👍🏽', '👨‍👩‍👧', '© ® → ∞ ±', '\u0000\u0000']) {
    assert.deepEqual(terms(text), [], JSON.stringify(text));
  }
});

test('blobs: over-long terms are dropped', () => {
  const blob = 'A'.repeat(5000);
  assert.deepEqual(terms(`alpha ${blob} omega`), ['alpha', 'omega']);
  const sha = 'a4bd2a4e5f0c1d2b3a4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0';
  assert.deepEqual(terms(sha), [sha]);
});

test('term frequency is kept: duplicates stay in text order', () => {
  assert.deepEqual(terms('cache cache cache miss'), ['cach', 'cach', 'cach', 'miss']);
});
