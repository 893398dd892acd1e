// "Did you mean …?": the closest names to a mistyped one, for unknown
// commands and options (parse.ts) and unknown routers, networks, keys
// (resolve.ts).

/** Edits (insert, delete, substitute, swap two neighbours) that turn a into b. */
export function editDistance(a: string, b: string): number {
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
    }
    [prev2, prev] = [prev, row];
  }
  return prev[b.length]!;
}

/**
 * Candidates at the smallest distance from `word` (at most 2 edits, and
 * less than 60% of the longer word changed), sorted. Options are compared
 * without their leading dashes.
 */
export function similar(word: string, candidates: string[]): string[] {
  const bare = (s: string) => s.replace(/^--/, '');
  let best: string[] = [];
  let bestD = 3;
  for (const c of new Set(candidates)) {
    if (bare(c).length <= 1) continue;
    const d = editDistance(bare(word), bare(c));
    const len = Math.max(bare(word).length, bare(c).length);
    if ((len - d) / len <= 0.4) continue;
    if (d < bestD) [best, bestD] = [[c], d];
    else if (d === bestD) best.push(c);
  }
  return best.sort();
}

/** `did you mean x?` / `did you mean one of x, y?`, or undefined. */
export function didYouMean(word: string, candidates: string[]): string | undefined {
  const s = similar(word, candidates);
  if (!s.length) return undefined;
  return s.length === 1 ? `did you mean ${s[0]}?` : `did you mean one of ${s.join(', ')}?`;
}

/** The one closest name, for a store object (case-insensitive; a third of the word may differ). */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}
