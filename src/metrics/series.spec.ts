import { Counter, Histogram, Registry } from 'prom-client';
import { CounterSeries, HistogramSeries, KeptCounter, KeptHistogram } from 'src/metrics/series';

/** A small seeded generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const ROUTES = ['/wechat/webhook', '/miniprogram/login', '/admin/auto-replies/:id', 'unmatched', 'a "quoted"\\route'];
const METHODS = ['GET', 'POST', 'other'];
const STATUSES = [200, 401, 404, 429, 500];

/**
 * The same calls through prom-client's own children and through kept series: registries to compare, and the pairs
 * of scrapes taken in between (prom-client's counter shows counts made after a scrape began, before it was written:
 * each is awaited before recording goes on).
 */
async function recordBoth(seed: number, calls: number) {
  const oracle = new Registry();
  const sut = new Registry();
  const config = { name: 'http_requests_total', help: 'Requests.', labelNames: ['route', 'method', 'status'] as const };
  const histogram = {
    name: 'http_request_duration_seconds',
    help: 'Durations.',
    labelNames: ['route', 'method'] as const,
    buckets: BUCKETS,
  };
  const promCounter = new Counter({ ...config, registers: [oracle] });
  const promHistogram = new Histogram({ ...histogram, registers: [oracle] });
  const keptCounter = new KeptCounter({ ...config, registers: [sut] });
  const keptHistogram = new KeptHistogram({ ...histogram, registers: [sut] });
  const counts = new Map<string, CounterSeries>();
  const durations = new Map<string, HistogramSeries>();
  const next = random(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)];
  const scrapes: [string, string][] = [];
  for (let i = 0; i < calls; i += 1) {
    const [route, method, status] = [pick(ROUTES), pick(METHODS), String(pick(STATUSES))];
    // Bucket bounds exactly, values past the last bound, zero, and milliseconds as the service records them.
    const value = [() => pick(BUCKETS), () => 10 + next() * 10, () => 0, () => Math.round(next() * 3000) / 1000][
      Math.floor(next() * 4)
    ]();
    promCounter.labels(route, method, status).inc();
    promHistogram.labels(route, method).observe(value);
    let count = counts.get(`${route} ${method} ${status}`);
    if (!count) {
      count = keptCounter.series({ route, method, status });
      counts.set(`${route} ${method} ${status}`, count);
    }
    count.inc();
    let duration = durations.get(`${route} ${method}`);
    if (!duration) {
      duration = keptHistogram.series({ route, method });
      durations.set(`${route} ${method}`, duration);
    }
    duration.observe(value);
    if (i % 97 === 0) {
      // Scrapes in between: what was counted before one is not counted again.
      scrapes.push([await oracle.metrics(), await sut.metrics()]);
    }
  }
  return { oracle, sut, scrapes, keptCounter, keptHistogram, counts, durations };
}

describe('kept series (src/metrics/series.ts)', () => {
  it.each([1, 2, 3, 4, 5])(
    'should scrape exactly as prom-client does for the same calls, text and JSON (seed %i)',
    async (seed) => {
      const { oracle, sut, scrapes } = await recordBoth(seed, 3000);
      for (const [expected, actual] of scrapes) {
        expect(actual).toBe(expected);
      }
      expect(await sut.metrics()).toBe(await oracle.metrics());
      expect(await sut.getMetricsAsJSON()).toEqual(await oracle.getMetricsAsJSON());
      expect(JSON.stringify(await sut.getMetricsAsJSON())).toBe(JSON.stringify(await oracle.getMetricsAsJSON()));
    },
  );

  /** A kept counter and a kept histogram (one bucket) labelled `k`, in a registry of their own. */
  const keptPair = () => {
    const registry = new Registry();
    const counter = new KeptCounter({ name: 'c_total', help: 'C.', labelNames: ['k'], registers: [registry] });
    const histogram = new KeptHistogram({
      name: 'h',
      help: 'H.',
      labelNames: ['k'],
      buckets: [1],
      registers: [registry],
    });
    return { registry, counter, histogram };
  };

  it('should scrape a series as soon as it has a first count, and nothing for a kind never recorded', async () => {
    const { registry, counter, histogram } = keptPair();
    expect(await registry.metrics()).toBe(
      '# HELP c_total C.\n# TYPE c_total counter\n\n# HELP h H.\n# TYPE h histogram\n',
    );
    counter.series({ k: 'a' }).inc();
    histogram.series({ k: 'a' }).observe(2);
    expect(await registry.metrics()).toBe(
      [
        '# HELP c_total C.',
        '# TYPE c_total counter',
        'c_total{k="a"} 1',
        '',
        '# HELP h H.',
        '# TYPE h histogram',
        'h_bucket{le="1",k="a"} 0',
        'h_bucket{le="+Inf",k="a"} 1',
        'h_sum{k="a"} 2',
        'h_count{k="a"} 1',
        '',
      ].join('\n'),
    );
  });

  it("should mix with prom-client's own inc on a counter, and refuse what prom-client's observe refuses", async () => {
    const { registry, counter, histogram } = keptPair();
    counter.series({ k: 'a' }).inc();
    counter.inc({ k: 'a' }, 2);
    expect(await registry.getSingleMetricAsString('c_total')).toContain('c_total{k="a"} 3');
    const series = histogram.series({ k: 'a' });
    expect(() => series.observe(Number.NaN)).toThrow(TypeError);
    expect(() => series.observe(Number.POSITIVE_INFINITY)).toThrow(TypeError);
    expect(series.count).toBe(0);
  });

  it('should zero kept series on reset, and count on from there', async () => {
    const { sut, keptCounter, keptHistogram, counts, durations } = await recordBoth(7, 500);
    await sut.metrics();
    const [count] = counts.values();
    count.inc();
    sut.resetMetrics();
    count.inc();
    const [duration] = durations.values();
    duration.observe(0.002);
    const counter = (await keptCounter.get()).values;
    expect(counter).toEqual([{ labels: count.labels, value: 1 }]);
    const histogram = (await keptHistogram.get()).values.filter((row) => row.metricName?.endsWith('_count'));
    expect(histogram).toHaveLength(durations.size);
    expect(histogram.filter((row) => row.value !== 0)).toEqual([
      { value: 1, metricName: 'http_request_duration_seconds_count', exemplar: undefined, labels: duration.labels },
    ]);
  });
});
