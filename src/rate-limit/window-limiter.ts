/** The answer of a limiter: allowed, or refused with the seconds until the caller may try again. */
export type LimitDecision =
  | { allowed: true }
  | { allowed: false; retryAfterSeconds: number; /** The window's first refusal (worth a log line). */ first: boolean };

interface Window {
  startedAt: number;
  count: number;
}

const ALLOWED: LimitDecision = Object.freeze({ allowed: true });

/**
 * Counts hits per key in fixed windows that start at a key's first hit: `limit` hits a window, then refusals until
 * it ends. In memory, per process. Keys whose window has ended are dropped by `sweep()` (called on a timer) and, when
 * the map reaches `maxKeys`, at once, so a flood of distinct keys cannot grow it without bound; if every key is still
 * live then, the oldest windows go first (those callers start afresh: a flood of addresses weakens the limit for
 * them, it never refuses anyone else).
 */
export class WindowLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  hit(key: string): LimitDecision {
    const now = this.now();
    let window = this.windows.get(key);
    if (window === undefined || now - window.startedAt >= this.windowMs) {
      if (window === undefined && this.windows.size >= this.maxKeys) {
        this.makeRoom(now);
      }
      window = { startedAt: now, count: 0 };
      // Re-inserted, so the map stays in the order windows started (the oldest first, for makeRoom).
      this.windows.delete(key);
      this.windows.set(key, window);
    }
    window.count += 1;
    if (window.count <= this.limit) {
      return ALLOWED;
    }
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((window.startedAt + this.windowMs - now) / 1000)),
      first: window.count === this.limit + 1,
    };
  }

  /** Drops the keys whose window has ended. */
  sweep(now = this.now()): void {
    for (const [key, window] of this.windows) {
      if (now - window.startedAt < this.windowMs) {
        // In start order: every later window is younger.
        return;
      }
      this.windows.delete(key);
    }
  }

  get size(): number {
    return this.windows.size;
  }

  private makeRoom(now: number): void {
    this.sweep(now);
    for (const key of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) {
        return;
      }
      this.windows.delete(key);
    }
  }
}
