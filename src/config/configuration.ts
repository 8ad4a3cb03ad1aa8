import { createHash } from 'node:crypto';
import { EnvironmentVariables, validate } from 'src/config/env.validation';
import { parseAllowedHosts } from 'src/jssdk/page-url';

export interface AppConfig {
  nodeEnv: string;
  port: number;
  publicBaseUrl: string;
  /** The keys `X-Admin-Key` may carry (ADMIN_API_KEY, comma-separated: several overlap during a rotation). */
  adminApiKeys: string[];
  /** 32-byte key sealing secrets at rest. */
  dataEncryptionKey: Buffer;
  /** The key before the last rotation: values sealed with it still open (and are sealed anew when next written). */
  dataEncryptionKeyPrevious?: Buffer;
  /** The address to listen on; `::` (every interface, IPv4 too) unless HOST says otherwise. */
  host?: string;
  /** True when DATA_ENCRYPTION_KEY was unset and a fixed development key is in use. */
  usingDevelopmentKey: boolean;
  sessionTtlSeconds: number;
  logLevel: string;
  /**
   * Hosts whose pages may get a `wx.config` signature, normalised (`host` or `host:port`, lower-case, punycode;
   * a bare host means its scheme's default port). Default: the host and port of PUBLIC_BASE_URL.
   */
  jssdkAllowedHosts: string[];
  /** Scan-to-login: `tap` asks the phone to confirm, `scan` logs in on the scan itself. */
  qrLoginConfirm: 'tap' | 'scan';
}

export interface OperationsConfig {
  /** Bearer token `/metrics` asks for; unset: open. */
  metricsToken?: string;
  /** False (METRICS_ENABLED=false): no metrics are recorded (benchmarks compare with and without). */
  metricsEnabled: boolean;
  /** Requests a client IP may make per minute to each rate-limited route; 0: no limits. */
  rateLimitPerMinute: number;
  webhookRetentionDays: number;
}

export interface DatabaseConfig {
  url?: string;
  pgliteDir: string;
}

export interface OfficialAccountConfig {
  appId?: string;
  secret?: string;
  token?: string;
  aesKey?: string;
  aesKeyPrevious?: string;
  welcomeText: string;
  domainVerify?: string;
  /** WECHAT_OA_FORWARD_URL: where the default official account's messages are forwarded. */
  forwardUrl?: string;
}

export interface MiniProgramConfig {
  appId?: string;
  secret?: string;
}

export interface WeChatConfig {
  apiBase: string;
  openBase: string;
  httpTimeoutMs: number;
  oa: OfficialAccountConfig;
  mp: MiniProgramConfig;
}

export interface MessagingConfig {
  /** FORWARD_SECRET: the HMAC key of `X-Signature` on forwards; unset: nothing is forwarded. */
  forwardSecret?: string;
  forwardReplyWaitMs: number;
  retentionDays: number;
  /** FOLLOWER_ACTIVITY_RETENTION_DAYS: how long a follower's last interaction is kept (the window needs 48 hours). */
  activityRetentionDays: number;
}

export interface WebhookConfig {
  /**
   * Where a delivery is kept (fsync'd) when the database cannot record it, until it is replayed into PostgreSQL.
   * One folder per instance, or at least per machine: an instance replays its own files and those of dead processes.
   */
  spoolDir: string;
  /**
   * Test hook, honoured only with NODE_ENV=test (else 0): a delivery that claimed a state-changing message waits this
   * long before running the handlers, so a test can kill the process between the claim and the settle.
   */
  testHoldAfterClaimMs: number;
}

export interface Configuration {
  app: AppConfig;
  database: DatabaseConfig;
  wechat: WeChatConfig;
  messaging: MessagingConfig;
  operations: OperationsConfig;
  webhook: WebhookConfig;
}

function decodeKey(raw: string): Buffer {
  return /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
}

const trimSlash = (url: string): string => url.replace(/\/+$/, '');

/** JSSDK_ALLOWED_HOSTS, else the `host` (default port) or `host:port` of PUBLIC_BASE_URL. */
function jssdkAllowedHosts(env: EnvironmentVariables, publicBaseUrl: string): string[] {
  if (env.JSSDK_ALLOWED_HOSTS !== undefined) {
    return parseAllowedHosts(env.JSSDK_ALLOWED_HOSTS);
  }
  try {
    return parseAllowedHosts(new URL(publicBaseUrl).host);
  } catch {
    throw new Error(
      `Invalid environment variable PUBLIC_BASE_URL (got "${publicBaseUrl}"): its host cannot be the default of ` +
        'JSSDK_ALLOWED_HOSTS; fix it or set JSSDK_ALLOWED_HOSTS',
    );
  }
}

/** Builds the typed configuration from the validated environment. */
export function buildConfiguration(env: EnvironmentVariables): Configuration {
  const port = env.PORT ?? 3000;
  const dataKey = env.DATA_ENCRYPTION_KEY;
  const publicBaseUrl = trimSlash(env.PUBLIC_BASE_URL ?? `http://localhost:${port}`);
  return {
    app: {
      nodeEnv: env.NODE_ENV ?? 'development',
      port,
      publicBaseUrl,
      adminApiKeys: env.ADMIN_API_KEY ? env.ADMIN_API_KEY.split(',') : [],
      // Without a key outside production, a fixed, publicly known key keeps sealed data readable across restarts.
      dataEncryptionKey: dataKey
        ? decodeKey(dataKey)
        : createHash('sha256').update('wechat-login-service insecure development key').digest(),
      dataEncryptionKeyPrevious: env.DATA_ENCRYPTION_KEY_PREVIOUS
        ? decodeKey(env.DATA_ENCRYPTION_KEY_PREVIOUS)
        : undefined,
      usingDevelopmentKey: !dataKey,
      host: env.HOST,
      sessionTtlSeconds: env.SESSION_TTL_SECONDS ?? 2592000,
      logLevel: env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'warn' : 'info'),
      jssdkAllowedHosts: jssdkAllowedHosts(env, publicBaseUrl),
      qrLoginConfirm: env.QR_LOGIN_CONFIRM === 'scan' ? 'scan' : 'tap',
    },
    database: {
      url: env.DATABASE_URL,
      pgliteDir: env.PGLITE_DIR ?? './.data/pglite',
    },
    operations: {
      metricsToken: env.METRICS_TOKEN,
      metricsEnabled: env.METRICS_ENABLED !== 'false',
      rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE ?? 120,
      webhookRetentionDays: env.WEBHOOK_RETENTION_DAYS ?? 30,
    },
    wechat: {
      apiBase: trimSlash(env.WECHAT_API_BASE ?? 'https://api.weixin.qq.com'),
      openBase: trimSlash(env.WECHAT_OPEN_BASE ?? 'https://open.weixin.qq.com'),
      httpTimeoutMs: env.WECHAT_HTTP_TIMEOUT_MS ?? 5000,
      oa: {
        appId: env.WECHAT_OA_APPID,
        secret: env.WECHAT_OA_SECRET,
        token: env.WECHAT_OA_TOKEN,
        aesKey: env.WECHAT_OA_AES_KEY,
        aesKeyPrevious: env.WECHAT_OA_AES_KEY_PREVIOUS,
        welcomeText: env.WECHAT_OA_WELCOME_TEXT ?? '感谢关注！',
        domainVerify: env.WECHAT_OA_DOMAIN_VERIFY,
        forwardUrl: env.WECHAT_OA_FORWARD_URL,
      },
      mp: {
        appId: env.WECHAT_MP_APPID,
        secret: env.WECHAT_MP_SECRET,
      },
    },
    messaging: {
      forwardSecret: env.FORWARD_SECRET,
      forwardReplyWaitMs: env.FORWARD_REPLY_WAIT_MS ?? 3000,
      retentionDays: env.MESSAGE_RETENTION_DAYS ?? 30,
      activityRetentionDays: env.FOLLOWER_ACTIVITY_RETENTION_DAYS ?? 7,
    },
    webhook: {
      spoolDir: env.WEBHOOK_SPOOL_DIR ?? './.data/webhook-spool',
      testHoldAfterClaimMs: env.NODE_ENV === 'test' ? (env.WEBHOOK_TEST_HOLD_AFTER_CLAIM_MS ?? 0) : 0,
    },
  };
}

/** `ConfigModule.forRoot({ validate })` hook: validates, then exposes the typed namespaces. */
export function validateAndBuild(raw: Record<string, unknown>): Record<string, unknown> {
  return { ...buildConfiguration(validate(raw)) };
}
