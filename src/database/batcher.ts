/**
 * Group commit for one kind of write: items submitted while a batch is being written wait and go together in the
 * next one, so N concurrent writers cost one statement and one commit instead of N. With a free slot, a batch leaves
 * `lingerMs` after its oldest item arrived (or at the end of the current event-loop turn when that is 0 or has passed
 * while every slot was busy) with whatever else arrived meanwhile: on a busy instance a millisecond gathers several
 * times more items per statement, and each statement costs a round trip of system calls, so the linger pays for
 * itself; a lone item waits that long at most.
 *
 * When a batch of several items fails, each item is retried on its own (unless `retrySingly` says it is pointless),
 * so one bad item, or a conflict only a batch can have, fails only its own caller.
 */
export class Batcher<In, Out> {
  private queue: { item: In; resolve: (value: Out) => void; reject: (error: unknown) => void; at: number }[] = [];
  private inFlight = 0;
  private scheduled = false;

  /**
   * @param write writes the items and returns one result per item, in the same order.
   * @param options.maxBatch the most items in one write.
   * @param options.maxInFlight how many writes may run at once.
   * @param options.lingerMs how long a batch waits for company before it leaves (0: the end of this event-loop turn).
   * @param options.retrySingly whether a failed batch is worth retrying item by item (not when the database is down).
   */
  constructor(
    private readonly write: (items: In[]) => Promise<Out[]>,
    private readonly options: {
      maxBatch: number;
      maxInFlight: number;
      lingerMs?: number;
      retrySingly?: (error: unknown) => boolean;
    },
  ) {}

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject, at: performance.now() });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight || this.queue.length === 0) {
      return;
    }
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      this.flush();
    };
    // The linger counts from the oldest waiting item's arrival: items that already waited for a free slot go at once.
    const linger = (this.options.lingerMs ?? 0) - (performance.now() - this.queue[0].at);
    if (linger > 0) {
      setTimeout(go, linger);
    } else {
      setImmediate(go);
    }
  }

  private flush(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      void this.run(batch).finally(() => {
        this.inFlight -= 1;
        this.schedule();
      });
    }
  }

  private async run(batch: typeof this.queue): Promise<void> {
    try {
      const results = await this.writeChecked(batch.map((entry) => entry.item));
      batch.forEach((entry, index) => entry.resolve(results[index]));
    } catch (error) {
      if (batch.length === 1 || this.options.retrySingly?.(error) === false) {
        batch.forEach((entry) => entry.reject(error));
        return;
      }
      await Promise.all(
        batch.map(async (entry) => {
          try {
            entry.resolve((await this.writeChecked([entry.item]))[0]);
          } catch (single) {
            entry.reject(single);
          }
        }),
      );
    }
  }

  private async writeChecked(items: In[]): Promise<Out[]> {
    const results = await this.write(items);
    if (results.length !== items.length) {
      throw new Error(`A batch write returned ${results.length} results for ${items.length} items`);
    }
    return results;
  }
}

/**
 * A batch's items as rows of one statement: the first item of each key (`first`), and those in key order (`rows`).
 * One statement may not touch a row twice, and two batches in flight lock their rows in the same order (no
 * deadlock).
 */
export function firstPerKey<T>(items: T[], keyOf: (item: T) => string): { first: Map<string, T>; rows: T[] } {
  const first = new Map<string, T>();
  for (const item of items) {
    const key = keyOf(item);
    if (!first.has(key)) {
      first.set(key, item);
    }
  }
  const rows = [...first.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, item]) => item);
  return { first, rows };
}
