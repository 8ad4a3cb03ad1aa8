/**
 * Resolves to `fallback` if `work` has not settled `ms` from now (work keeps running; its outcome is then ignored).
 * A deadline already past (`ms` ≤ 0) is late at once, however soon `work` would settle: a spooled delivery's replay
 * relies on that. One timer and one promise per call: it runs twice on every delivery, and once more on a forwarded
 * one.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, fallback: T): Promise<{ value: T; late: boolean }> {
  if (ms <= 0) {
    // Its outcome is ignored, a failure included (the caller that wants it keeps its own handle on `work`).
    work.catch(() => undefined);
    return Promise.resolve({ value: fallback, late: true });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve({ value: fallback, late: true }), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve({ value, late: false });
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
