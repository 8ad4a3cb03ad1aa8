/**
 * Resolves to `fallback` if `work` has not settled `ms` from now (work keeps running; its outcome is then ignored).
 * One timer and one promise per call: it runs twice on every delivery, and once more on a forwarded one.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, fallback: T): Promise<{ value: T; late: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve({ value: fallback, late: true }), Math.max(0, ms));
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
