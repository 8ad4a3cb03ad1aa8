import { WindowLimiter } from 'src/rate-limit/window-limiter';

describe(WindowLimiter.name, () => {
  let now = 0;
  const clock = () => now;

  beforeEach(() => {
    now = 1_000_000;
  });

  it('should allow `limit` hits a window, then refuse with the seconds left, first refusal marked', () => {
    const sut = new WindowLimiter(3, 60_000, 100, clock);
    expect([sut.hit('a'), sut.hit('a'), sut.hit('a')].every((d) => d.allowed)).toBe(true);
    now += 15_500;
    expect(sut.hit('a')).toEqual({ allowed: false, retryAfterSeconds: 45, first: true });
    expect(sut.hit('a')).toEqual({ allowed: false, retryAfterSeconds: 45, first: false });
  });

  it('should count keys apart and start a new window once the old one ends', () => {
    const sut = new WindowLimiter(1, 60_000, 100, clock);
    expect(sut.hit('a').allowed).toBe(true);
    expect(sut.hit('b').allowed).toBe(true);
    expect(sut.hit('a').allowed).toBe(false);
    now += 60_000;
    expect(sut.hit('a').allowed).toBe(true);
  });

  it('should drop ended windows on sweep, and never hold more than maxKeys', () => {
    const sut = new WindowLimiter(1, 60_000, 3, clock);
    sut.hit('a');
    now += 30_000;
    sut.hit('b');
    now += 30_000;
    sut.sweep();
    expect(sut.size).toBe(1);
    sut.hit('c');
    sut.hit('d');
    sut.hit('e');
    expect(sut.size).toBe(3);
    // The oldest window went to make room: its key starts afresh.
    expect(sut.hit('b').allowed).toBe(true);
  });
});
