/** An item with the time it arrived (`now()` when its read ended, not when it was used). */
export interface Arrived<T> {
  item: T;
  at: number;
}

/**
 * Reads one item ahead of its consumer: while the consumer works on an item, the next one is on
 * its way (a CRM page: the full read waits for the CRM and ingests at the same time). At most one
 * read is in flight. A read that fails is reported when its item is asked for; a consumer that
 * stops (done or failing) ends the source after the read in flight, whose failure then goes unheard
 * on purpose: the consumer's own outcome is the one that counts.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, now: () => number): AsyncGenerator<Arrived<T>, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  const ask = () => {
    const next = iterator.next().then((result) => ({ result, at: now() }));
    // Heard when awaited below; until then a failure must not count as unhandled.
    next.catch(() => undefined);
    return next;
  };
  let next = ask();
  let finished = false;
  try {
    for (;;) {
      const { result, at } = await next;
      if (result.done) {
        finished = true;
        return;
      }
      next = ask();
      yield { item: result.value, at };
    }
  } finally {
    if (!finished) {
      // The consumer stopped early, or a read failed: the source cleans up after its read in flight.
      await next.catch(() => undefined);
      await iterator.return?.()?.catch(() => undefined);
    }
  }
}
