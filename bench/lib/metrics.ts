/**
 * Evidence recall. A ranking is a list of result slots, best first; each slot holds the keys
 * it stands for (usually one; several when identical texts collapsed into one memory).
 *
 *   recall@k  share of the query's relevant keys found in the first k slots
 *   MRR       1 / rank of the first slot holding any relevant key (0 if none in the list)
 * Both are averaged over queries. A relevant key that names no document is simply never
 * found, so it counts as missed.
 */
export const CUTOFFS = [1, 5, 10, 20] as const;

export interface Scores {
  'r@1': number;
  'r@5': number;
  'r@10': number;
  'r@20': number;
  mrr: number;
}

export type Ranking = ReadonlyArray<readonly string[]>;

export function scoreQuery(ranking: Ranking, relevant: readonly string[]): Scores {
  const wanted = new Set(relevant);
  const foundAt = new Map<string, number>();
  ranking.forEach((slot, i) => {
    for (const key of slot) if (wanted.has(key) && !foundAt.has(key)) foundAt.set(key, i + 1);
  });
  const recall = (k: number): number => [...foundAt.values()].filter((rank) => rank <= k).length / wanted.size;
  const first = Math.min(...foundAt.values());
  return {
    'r@1': recall(1),
    'r@5': recall(5),
    'r@10': recall(10),
    'r@20': recall(20),
    mrr: Number.isFinite(first) ? 1 / first : 0,
  };
}

/** Running mean of per-query scores. */
export class Mean {
  count = 0;
  #sum: Scores = { 'r@1': 0, 'r@5': 0, 'r@10': 0, 'r@20': 0, mrr: 0 };

  add(s: Scores): void {
    this.count++;
    for (const key of Object.keys(this.#sum) as (keyof Scores)[]) this.#sum[key] += s[key];
  }

  value(): Scores {
    const n = this.count || 1;
    const out = { ...this.#sum };
    for (const key of Object.keys(out) as (keyof Scores)[]) out[key] = Math.round((out[key] / n) * 1e4) / 1e4;
    return out;
  }
}
