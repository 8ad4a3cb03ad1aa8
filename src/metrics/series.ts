import { Counter, CounterConfiguration, Histogram, HistogramConfiguration, LabelValues } from 'prom-client';

/**
 * Series recorded in plain numbers and handed to prom-client when it is scraped. prom-client 15 builds the label
 * key and checks the label names on every `inc` and `observe`, through a child of `labels()` too (a child only
 * binds the labels object): about 1 µs for a request's counter and histogram, on every request. A series here is
 * bound to its labels once, by the caller, who keeps it; recording is an addition. Scrapes show exactly what
 * prom-client would have shown for the same calls (names, labels, values, the order series appeared in).
 */

/** One labelled series of a KeptCounter. */
export class CounterSeries {
  /** Counted since the last scrape. */
  pending = 0;

  constructor(readonly labels: LabelValues<string>) {}

  inc(): void {
    this.pending += 1;
  }
}

/** A prom-client Counter whose hot series are `series(labels)`, kept by the caller; `inc(labels)` still works too. */
export class KeptCounter<T extends string> extends Counter<T> {
  private readonly kept: CounterSeries[] = [];

  constructor(config: Omit<CounterConfiguration<T>, 'collect'>) {
    super({
      ...config,
      // Scrapes (text and JSON alike) call collect first: the counts since the last one go in through prom-client.
      collect(this: Counter<T>) {
        (this as KeptCounter<T>).fold();
      },
    });
  }

  /** A new series of these labels (given in `labelNames` order, as prom-client's `labels(…)` makes them). */
  series(labels: LabelValues<T>): CounterSeries {
    const series = new CounterSeries(labels);
    this.kept.push(series);
    return series;
  }

  /** Drops the counts not yet scraped too, as prom-client's reset drops the rest. */
  reset(): void {
    super.reset();
    // Called by prom-client's constructor too, before the fields exist.
    for (const series of this.kept ?? []) {
      series.pending = 0;
    }
  }

  private fold(): void {
    for (const series of this.kept) {
      if (series.pending > 0) {
        this.inc(series.labels as LabelValues<T>, series.pending);
        series.pending = 0;
      }
    }
  }
}

/** One labelled series of a KeptHistogram: observations per bucket (not cumulative), their sum and count. */
export class HistogramSeries {
  /** [i]: the observations ≤ bounds[i] (and above the bounds before it); the last, those above every bound. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly labels: LabelValues<string>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) {
      throw new TypeError(`Value is not a valid number: ${value}`);
    }
    // The first bound the value is not above, as prom-client's bucket search.
    let bucket = 0;
    while (bucket < this.bounds.length && value > this.bounds[bucket]) {
      bucket += 1;
    }
    this.counts[bucket] += 1;
    this.sum += value;
    this.count += 1;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/** A line of a histogram's exposition, in the shape prom-client's registry formats. */
interface ExpositionRow {
  labels: Record<string, string | number>;
  sharedLabels: LabelValues<string>;
  value: number;
  metricName: string;
  exemplar: null | undefined;
}

interface Exposition {
  values: ExpositionRow[];
}

/** prom-client's histogram exposition: what the registry formats (`get()` is it with the labels merged). */
const promExposition = (Histogram.prototype as unknown as { getForPromString(): Promise<Exposition> }).getForPromString;

/**
 * A prom-client Histogram whose series are `series(labels)`, kept by the caller. Observe a set of labels either
 * through a series or through prom-client's own `observe`, never both (the scrape would show it twice).
 */
export class KeptHistogram<T extends string> extends Histogram<T> {
  private readonly kept: HistogramSeries[] = [];
  private readonly bounds: readonly number[];
  private readonly metricName: string;

  constructor(config: HistogramConfiguration<T> & { buckets: number[] }) {
    super(config);
    this.bounds = [...config.buckets];
    this.metricName = config.name;
  }

  /** A new series of these labels (given in `labelNames` order, as prom-client's `labels(…)` makes them). */
  series(labels: LabelValues<T>): HistogramSeries {
    const series = new HistogramSeries(labels, this.bounds);
    this.kept.push(series);
    return series;
  }

  /** The registry's source for the text format (and `get()`'s): prom-client's series, then the kept ones. */
  async getForPromString(): Promise<Exposition> {
    const exposition = await promExposition.call(this);
    for (const series of this.kept) {
      exposition.values.push(...this.rowsOf(series));
    }
    return exposition;
  }

  /** Zeroes every kept series too (they stay listed, at 0). */
  reset(): void {
    super.reset();
    // Called by prom-client's constructor too, before the fields exist.
    for (const series of this.kept ?? []) {
      series.reset();
    }
  }

  /** The rows prom-client writes for one series: each bucket (cumulative), `+Inf`, the sum and the count. */
  private rowsOf(series: HistogramSeries): ExpositionRow[] {
    const { labels: shared, count, sum } = series;
    const bucket = `${this.metricName}_bucket`;
    const rows: ExpositionRow[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i += 1) {
      cumulative += series.counts[i];
      rows.push({
        labels: { le: this.bounds[i] },
        sharedLabels: shared,
        value: cumulative,
        metricName: bucket,
        exemplar: null,
      });
    }
    rows.push(
      { labels: { le: '+Inf' }, sharedLabels: shared, value: count, metricName: bucket, exemplar: null },
      { labels: {}, sharedLabels: shared, value: sum, metricName: `${this.metricName}_sum`, exemplar: undefined },
      { labels: {}, sharedLabels: shared, value: count, metricName: `${this.metricName}_count`, exemplar: undefined },
    );
    return rows;
  }
}
