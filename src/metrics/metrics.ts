import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Configuration } from 'src/config/configuration';
import { Sql } from 'src/database/sql';
import { CounterSeries, HistogramSeries, KeptCounter, KeptHistogram } from 'src/metrics/series';

/** Latency buckets in seconds: from a cached answer (1 ms) to WeChat's 5-second deadline and past it. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Methods kept as they are in labels; anything else (a scanner's `PROPFIND`) is `other`. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The `route` label of a request that matched no route: never its path (unbounded, and it may carry ids). */
export const UNMATCHED_ROUTE = 'unmatched';

/** Why a token was fetched from WeChat. */
/** Why a token or ticket was fetched: none usable was stored, WeChat rejected the stored one, or an admin forced it. */
export type TokenFetchReason = 'expired' | 'rejected' | 'forced';
/** How a webhook delivery was answered. */
export type WebhookDeliveryOutcome = 'reply' | 'success' | 'refused';

/** The HTTP series of one route and method: its duration, and its count by status. */
interface RequestSeries {
  duration: HistogramSeries;
  byStatus: Map<number, CounterSeries>;
}

/** The WeChat call series of one endpoint: its duration, and its count by errcode. */
interface CallSeries {
  duration: HistogramSeries;
  byErrcode: Map<number | string, CounterSeries>;
}

/**
 * The service's Prometheus metrics, in one registry per app (tests start several apps in one process): the default
 * process metrics plus the contract's. Labels are bounded sets — route patterns, WeChat endpoint paths (constants in
 * the clients), errcodes, configured appids — never raw paths, openids or user input. Modules built later add their
 * own series to `registry`. With METRICS_ENABLED=false nothing is recorded.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  readonly enabled: boolean;

  private readonly httpRequests = new KeptCounter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  private readonly httpDuration = new KeptHistogram({
    name: 'http_request_duration_seconds',
    help: 'Time from a request arriving to its answer being sent, by route pattern and method.',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly wechatCalls = new KeptCounter({
    name: 'wechat_api_calls_total',
    help: "Calls to WeChat's server API, by endpoint and errcode (0 success; timeout, network, http or not_json when no errcode came).",
    labelNames: ['endpoint', 'errcode'] as const,
    registers: [this.registry],
  });

  private readonly wechatDuration = new KeptHistogram({
    name: 'wechat_api_call_duration_seconds',
    help: "Latency of calls to WeChat's server API, by endpoint.",
    labelNames: ['endpoint'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly tokenFetches = new Counter({
    name: 'wechat_token_fetches_total',
    help: 'Access tokens and JS-SDK tickets fetched from WeChat, by appid, kind (access_token, jsapi_ticket), reason (expired, rejected, forced) and outcome (ok, error).',
    labelNames: ['appid', 'kind', 'reason', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly webhookDeliveries = new KeptCounter({
    name: 'webhook_deliveries_total',
    help: 'Webhook deliveries, by outcome: reply (a passive reply), success (the plain answer), refused (a 4xx).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly webhookRetries = new Counter({
    name: 'webhook_retries_answered_total',
    help: "WeChat's retries of a delivery already recorded, answered with the recorded reply.",
    registers: [this.registry],
  });

  private readonly webhookFallbacks = new Counter({
    name: 'webhook_deadline_fallbacks_total',
    help: "Deliveries answered `success` because the reply was not ready within WeChat's 5-second deadline.",
    registers: [this.registry],
  });

  private readonly qrLoginAttempts = new Counter({
    name: 'qr_login_attempts_total',
    help: 'Scan-to-login steps by outcome: created, scan_<scanned|confirmed|rescanned|expired|used|unknown>, phone_<confirmed|denied|refused|closed|unknown>, logged_in.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly outboundMessages = new Counter({
    name: 'outbound_messages_total',
    help: 'Outbox deliveries by kind (custom, template, subscribe) and the status they ended a try in (sent, queued for a retry, failed).',
    labelNames: ['kind', 'status'] as const,
    registers: [this.registry],
  });

  private readonly forwards = new Counter({
    name: 'webhook_forwards_total',
    help: "Forwards to the team's backend by the outcome of a try: delivered, pending (retried later), failed.",
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /**
   * The series of every request and delivery, by route, then method (and status), by endpoint, by outcome: bound
   * once and kept here (src/metrics/series.ts), so that recording one is a few map lookups and additions, with no
   * label key built (and no string made) on the request path.
   */
  private readonly requestSeries = new Map<string, Map<string, RequestSeries>>();
  private readonly callSeries = new Map<string, CallSeries>();
  private readonly deliverySeries = new Map<WebhookDeliveryOutcome, CounterSeries>();

  constructor(config: ConfigService<Configuration, true>, sql: Sql) {
    this.enabled = config.get('operations', { infer: true }).metricsEnabled;
    collectDefaultMetrics({ register: this.registry });
    const pool = (
      name: string,
      help: string,
      read: (usage: { total: number; idle: number; waiting: number }) => number,
    ) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const usage = sql.poolUsage();
          if (usage) {
            this.set(read(usage));
          }
        },
      });
    pool('db_pool_connections', 'Connections the PostgreSQL pool holds, in use or idle.', (usage) => usage.total);
    pool('db_pool_idle_connections', 'Connections of the PostgreSQL pool that are idle.', (usage) => usage.idle);
    pool(
      'db_pool_waiting_queries',
      'Queries waiting for a connection of the PostgreSQL pool.',
      (usage) => usage.waiting,
    );
  }

  /** An answered request; `route` is the matched pattern (undefined: none matched). */
  httpRequest(route: string | undefined, method: string, status: number, ms: number): void {
    if (!this.enabled) {
      return;
    }
    const routeLabel = route ?? UNMATCHED_ROUTE;
    const methodLabel = METHODS.has(method) ? method : 'other';
    let byMethod = this.requestSeries.get(routeLabel);
    if (!byMethod) {
      byMethod = new Map();
      this.requestSeries.set(routeLabel, byMethod);
    }
    let series = byMethod.get(methodLabel);
    if (!series) {
      series = { duration: this.httpDuration.series({ route: routeLabel, method: methodLabel }), byStatus: new Map() };
      byMethod.set(methodLabel, series);
    }
    let count = series.byStatus.get(status);
    if (!count) {
      count = this.httpRequests.series({ route: routeLabel, method: methodLabel, status: String(status) });
      series.byStatus.set(status, count);
    }
    count.inc();
    series.duration.observe(ms / 1000);
  }

  /** A call to WeChat's API: `errcode` 0 for success, else WeChat's errcode or why there was none. */
  wechatCall(endpoint: string, errcode: number | 'timeout' | 'network' | 'http' | 'not_json', ms: number): void {
    if (!this.enabled) {
      return;
    }
    let series = this.callSeries.get(endpoint);
    if (!series) {
      series = { duration: this.wechatDuration.series({ endpoint }), byErrcode: new Map() };
      this.callSeries.set(endpoint, series);
    }
    let count = series.byErrcode.get(errcode);
    if (!count) {
      count = this.wechatCalls.series({ endpoint, errcode: String(errcode) });
      series.byErrcode.set(errcode, count);
    }
    count.inc();
    series.duration.observe(ms / 1000);
  }

  /** A token fetched from WeChat (or a fetch that failed). */
  tokenFetch(appid: string, kind: string, reason: TokenFetchReason, outcome: 'ok' | 'error'): void {
    if (this.enabled) {
      this.tokenFetches.labels(appid, kind, reason, outcome).inc();
    }
  }

  /** A webhook delivery answered. */
  webhookDelivery(outcome: WebhookDeliveryOutcome): void {
    if (!this.enabled) {
      return;
    }
    let series = this.deliverySeries.get(outcome);
    if (!series) {
      series = this.webhookDeliveries.series({ outcome });
      this.deliverySeries.set(outcome, series);
    }
    series.inc();
  }

  /** A retry of a recorded delivery, answered from the record. */
  webhookRetryAnswered(): void {
    if (this.enabled) {
      this.webhookRetries.inc();
    }
  }

  /** A delivery answered `success` at the deadline. */
  webhookDeadlineFallback(): void {
    if (this.enabled) {
      this.webhookFallbacks.inc();
    }
  }

  /** A scan-to-login step and how it ended. */
  qrLoginAttempt(outcome: string): void {
    if (this.enabled) {
      this.qrLoginAttempts.labels(outcome).inc();
    }
  }

  /** One try of an outbox message: the status the message is left in. */
  outboundMessage(kind: string, status: string): void {
    if (this.enabled) {
      this.outboundMessages.labels(kind, status).inc();
    }
  }

  /** One try of a forward to the team's backend. */
  forward(outcome: string): void {
    if (this.enabled) {
      this.forwards.labels(outcome).inc();
    }
  }
}
