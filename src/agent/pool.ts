// At most `limit` of `fn` at once, over `items`; the results in items' order.
// Routers live in namespaces of their own, so their passes can overlap; a
// bound keeps a 2-core host and its process table from drowning.
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return out;
}

/** How many router passes run at once. */
export const ROUTER_CONCURRENCY = 8;

/**
 * How many routers start their reads together. Their reads then share a few
 * shells (linux/reads.ts) instead of a process each; the bound keeps what a
 * router saw recent when its plan runs, and the observations held small.
 */
export const READ_WAVE = 32;

/**
 * `start` (the reads) for every item of a wave at once, then `fn` for each
 * with its started reads, at most `limit` at once: a router plans and applies
 * as soon as its own reads are back. A failed start is `fn`'s to meet, when it
 * awaits it. `stop`: asked before each wave; true starts no more.
 */
export async function mapStaged<T, A, R>(items: readonly T[], limit: number, start: (item: T) => Promise<A>, fn: (item: T, started: Promise<A>, index: number) => Promise<R>, stop?: () => boolean): Promise<R[]> {
  const out: R[] = [];
  for (let w = 0; w < items.length && !stop?.(); w += READ_WAVE) {
    const part = items.slice(w, w + READ_WAVE);
    const started = part.map((x) => {
      const p = start(x);
      p.catch(() => {}); // handled where fn awaits it, maybe after it settled
      return p;
    });
    out.push(...(await mapLimit(part, limit, (x, i) => fn(x, started[i]!, w + i))));
  }
  return out;
}
