/**
 * Runs `work(0)` … `work(count - 1)` with at most `limit` in flight: each worker takes the next
 * index as soon as its last one ends. No index is started once `stop()` says so.
 */
export async function runPool<T>(
  count: number,
  limit: number,
  work: (index: number) => Promise<T>,
  stop: () => boolean = () => false,
): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (!stop() && next < count) {
      const index = next++;
      results[index] = await work(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return results;
}
