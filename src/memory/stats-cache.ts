/**
 * Corpus statistics of large corpora kept between searches: the corpus size and the document
 * frequencies of common terms, per scope (tenant and projects), for a short while.
 *
 * Every search weighs its terms by IDF, which needs the corpus size n and each term's document
 * frequency. Counting them is a search's first round trip, and in a large corpus its cost is in
 * the common words: n is an index-only scan of the whole project (17,000 entries for the
 * largest project at 100,000 memories), and a common term's count builds the bitmap of every
 * memory in scope containing it (up to dfCap heap visits). Both change little from one search
 * to the next, so for a corpus larger than RANKING.smallCorpus they are kept for `ttlMs` (by the
 * monotonic clock: the wall clock set back would keep them for as long again).
 *
 * The trade-off: for up to `ttlMs` after a save or a forget, IDF weights may be computed from a
 * corpus size and common-term frequencies that miss it. Only counts that a few memories cannot
 * move are kept — n above smallCorpus (1,000), document frequencies of at least `minDf` (100) —
 * so a weight is off by well under 1% (ln(n / df) against ln(n / (df + 1))); a rare term is
 * counted on every search, so a memory just saved with a new word is found by that word at
 * once. A small corpus (ranked whole) is counted on every search. A corpus that shrank to
 * smallCorpus or below is ranked as a large one until its entry expires. Each process has its
 * own (no state that correctness depends on).
 */
export class StatsCache {
  readonly ttlMs: number;
  readonly minDf: number;
  readonly #scopes = new Map<string, { at: number; n: number; dfs: Map<string, number> }>();
  static readonly MAX_SCOPES = 200;
  static readonly MAX_TERMS = 5_000;

  constructor(options: { ttlMs: number; minDf: number }) {
    this.ttlMs = options.ttlMs;
    this.minDf = options.minDf;
  }

  /** The kept corpus size and frequencies of a scope, or undefined when none are fresh. */
  get(scope: string, now = performance.now()): { n: number; dfs: ReadonlyMap<string, number> } | undefined {
    const entry = this.#scopes.get(scope);
    if (!entry) return undefined;
    if (now - entry.at >= this.ttlMs) {
      this.#scopes.delete(scope);
      return undefined;
    }
    return entry;
  }

  /** Keeps a freshly counted corpus size (the entry's clock starts now). */
  setSize(scope: string, n: number, now = performance.now()): void {
    this.#scopes.delete(scope);
    this.#scopes.set(scope, { at: now, n, dfs: new Map() });
    if (this.#scopes.size > StatsCache.MAX_SCOPES) this.#scopes.delete(this.#scopes.keys().next().value!);
  }

  /** Keeps freshly counted frequencies of at least minDf, in a scope with a fresh size. */
  addFrequencies(scope: string, counted: Iterable<[string, number]>, now = performance.now()): void {
    const entry = this.get(scope, now);
    if (!entry) return;
    const dfs = entry.dfs as Map<string, number>;
    for (const [term, df] of counted) {
      if (df < this.minDf) continue;
      if (dfs.size >= StatsCache.MAX_TERMS) dfs.clear();
      dfs.set(term, df);
    }
  }
}
