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
