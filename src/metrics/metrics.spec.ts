import type { ConfigService } from '@nestjs/config';
import { Counter, Histogram, Registry } from 'prom-client';
import type { Configuration } from 'src/config/configuration';
import type { Sql } from 'src/database/sql';
import { Metrics, UNMATCHED_ROUTE } from 'src/metrics/metrics';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const metricsWith = (enabled: boolean) =>
  new Metrics(
    { get: () => ({ metricsEnabled: enabled }) } as unknown as ConfigService<Configuration, true>,
    { poolUsage: () => undefined } as unknown as Sql,
  );

/** The series lines (no HELP or TYPE) of the families named, as a scrape writes them. */
const samples = (text: string, families: string[]) =>
  text.split('\n').filter((line) => families.some((family) => line.startsWith(family)));

describe(Metrics.name, () => {
  it('should record requests, WeChat calls and deliveries as prom-client recorded them through its own labels', async () => {
    const sut = metricsWith(true);
    // The recording as it was, straight through prom-client: the same names, labels, order and values are expected.
    const oracle = new Registry();
    const requests = new Counter({
      name: 'http_requests_total',
      help: '-',
      labelNames: ['route', 'method', 'status'],
      registers: [oracle],
    });
    const durations = new Histogram({
      name: 'http_request_duration_seconds',
      help: '-',
      labelNames: ['route', 'method'],
      buckets: BUCKETS,
      registers: [oracle],
    });
    const calls = new Counter({
      name: 'wechat_api_calls_total',
      help: '-',
      labelNames: ['endpoint', 'errcode'],
      registers: [oracle],
    });
    const callDurations = new Histogram({
      name: 'wechat_api_call_duration_seconds',
      help: '-',
      labelNames: ['endpoint'],
      buckets: BUCKETS,
      registers: [oracle],
    });
    const deliveries = new Counter({
      name: 'webhook_deliveries_total',
      help: '-',
      labelNames: ['outcome'],
      registers: [oracle],
    });
    const families = ['http_request', 'wechat_api_call', 'webhook_deliveries'];
    const routes = ['/wechat/webhook', '/miniprogram/login', undefined, '/admin/auto-replies/:id'];
    const methods = ['POST', 'GET', 'PROPFIND', 'DELETE'];
    const outcomes = ['reply', 'success', 'refused'] as const;
    const errcodes = [0, 40163, 'timeout', 'network', 0, 0] as const;
    for (let i = 0; i < 2000; i += 1) {
      const route = routes[i % 4];
      const method = methods[(i >> 2) % 4];
      const status = [200, 401, 429, 404, 500][i % 5];
      const ms = (i * 37) % 12_000;
      sut.httpRequest(route, method, status, ms);
      const [routeLabel, methodLabel] = [route ?? UNMATCHED_ROUTE, method === 'PROPFIND' ? 'other' : method];
      requests.labels(routeLabel, methodLabel, String(status)).inc();
      durations.labels(routeLabel, methodLabel).observe(ms / 1000);
      const endpoint = i % 3 ? '/sns/jscode2session' : '/cgi-bin/stable_token';
      const errcode = errcodes[i % errcodes.length];
      sut.wechatCall(endpoint, errcode, ms % 700);
      calls.labels(endpoint, String(errcode)).inc();
      callDurations.labels(endpoint).observe((ms % 700) / 1000);
      sut.webhookDelivery(outcomes[(i % 7) % 3]);
      deliveries.labels(outcomes[(i % 7) % 3]).inc();
      if (i % 250 === 0) {
        expect(samples(await sut.registry.metrics(), families)).toEqual(samples(await oracle.metrics(), families));
      }
    }
    const scraped = samples(await sut.registry.metrics(), families);
    expect(scraped).toEqual(samples(await oracle.metrics(), families));
    expect(scraped).toContain('http_requests_total{route="unmatched",method="other",status="200"} 25');
  });

  it('should record nothing with METRICS_ENABLED=false', async () => {
    const sut = metricsWith(false);
    sut.httpRequest('/wechat/webhook', 'POST', 200, 3);
    sut.wechatCall('/sns/jscode2session', 0, 3);
    sut.webhookDelivery('reply');
    expect(samples(await sut.registry.metrics(), ['http_request', 'wechat_api_call', 'webhook_deliveries'])).toEqual(
      [],
    );
  });
});
