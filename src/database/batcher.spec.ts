import { Batcher } from 'src/database/batcher';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Batcher', () => {
  it('should write items submitted together in one batch, each caller getting its own result', async () => {
    const writes: number[][] = [];
    const batcher = new Batcher<number, string>(
      (items) => {
        writes.push(items);
        return Promise.resolve(items.map((item) => `r${item}`));
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const results = await Promise.all([1, 2, 3].map((item) => batcher.submit(item)));
    expect(results).toEqual(['r1', 'r2', 'r3']);
    expect(writes).toEqual([[1, 2, 3]]);
  });

  it('should collect what arrives during a write into the next one, never more than maxBatch at once', async () => {
    const writes: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new Batcher<number, number>(
      async (items) => {
        writes.push(items);
        if (writes.length === 1) {
          await gate;
        }
        return items;
      },
      { maxBatch: 3, maxInFlight: 1 },
    );
    const first = batcher.submit(0);
    await tick();
    const later = [1, 2, 3, 4, 5].map((item) => batcher.submit(item));
    await tick();
    expect(writes).toEqual([[0]]);
    release();
    expect(await Promise.all([first, ...later])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(writes).toEqual([[0], [1, 2, 3], [4, 5]]);
  });

  it('should run up to maxInFlight writes at once', async () => {
    let running = 0;
    let peak = 0;
    const batcher = new Batcher<number, number>(
      async (items) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
        return items;
      },
      { maxBatch: 1, maxInFlight: 2 },
    );
    await Promise.all([1, 2, 3, 4, 5].map((item) => batcher.submit(item)));
    expect(peak).toBe(2);
  });

  it('should retry a failed batch item by item, so only the bad item fails', async () => {
    const writes: string[][] = [];
    const batcher = new Batcher<string, string>(
      (items) => {
        writes.push(items);
        if (items.includes('bad')) {
          return Promise.reject(new Error('bad row'));
        }
        return Promise.resolve(items.map((item) => item.toUpperCase()));
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((item) => batcher.submit(item)));
    expect(results).toEqual([
      { status: 'fulfilled', value: 'A' },
      { status: 'rejected', reason: new Error('bad row') },
      { status: 'fulfilled', value: 'C' },
    ]);
    expect(writes).toHaveLength(4);
  });

  it('should fail the whole batch at once when retrySingly says retrying is pointless', async () => {
    let writes = 0;
    const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const batcher = new Batcher<number, number>(
      () => {
        writes += 1;
        return Promise.reject(down);
      },
      { maxBatch: 10, maxInFlight: 1, retrySingly: (error) => error !== down },
    );
    const results = await Promise.allSettled([1, 2, 3].map((item) => batcher.submit(item)));
    expect(results.every((result) => result.status === 'rejected' && result.reason === down)).toBe(true);
    expect(writes).toBe(1);
  });

  it('should refuse a write that returns the wrong number of results instead of mismatching callers', async () => {
    const batcher = new Batcher<number, number>((items) => Promise.resolve(items.slice(1)), {
      maxBatch: 10,
      maxInFlight: 1,
    });
    await expect(batcher.submit(1)).rejects.toThrow('returned 0 results for 1 items');
  });

  it('should let a batch linger for company when asked, then leave with what arrived meanwhile', async () => {
    const writes: number[][] = [];
    const batcher = new Batcher<number, number>(
      (items) => {
        writes.push(items);
        return Promise.resolve(items);
      },
      { maxBatch: 10, maxInFlight: 1, lingerMs: 20 },
    );
    const first = batcher.submit(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = batcher.submit(2);
    expect(writes).toEqual([]);
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(writes).toEqual([[1, 2]]);
  });

  it('should send items that waited for a free slot as soon as it frees, not a linger later', async () => {
    // The clock is Jest's, so the test sees exactly what the batcher waits for; a busy machine cannot stretch it.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const writes: number[][] = [];
      let finishFirst!: () => void;
      const batcher = new Batcher<number, number>(
        async (items) => {
          writes.push(items);
          if (writes.length === 1) {
            await new Promise<void>((resolve) => (finishFirst = resolve));
          }
          return items;
        },
        { maxBatch: 10, maxInFlight: 1, lingerMs: 100 },
      );
      const first = batcher.submit(1);
      jest.advanceTimersByTime(99);
      expect(writes).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(writes).toEqual([[1]]);
      // The slot is busy: these wait for it, and by the time it frees they have waited longer than the linger.
      const waiting = [2, 3].map((item) => batcher.submit(item));
      jest.advanceTimersByTime(150);
      expect(writes).toEqual([[1]]);
      finishFirst();
      for (let turn = 0; turn < 5; turn += 1) {
        await tick();
      }
      // No more clock time has passed since the slot freed: the waiting items left without a second linger.
      expect(writes).toEqual([[1], [2, 3]]);
      expect(await Promise.all([first, ...waiting])).toEqual([1, 2, 3]);
    } finally {
      jest.useRealTimers();
    }
  });
});
