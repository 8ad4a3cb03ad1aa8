import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import * as QRCode from 'qrcode';
import { requireFields } from 'src/accounts/account';
import { AccountRegistry } from 'src/accounts/account.registry';
import { AppException } from 'src/common/errors/app-exception';
import { safeEqual } from 'src/common/safe-equal';
import { sha256Hex } from 'src/common/sealing/secret-sealer';
import type { Configuration } from 'src/config/configuration';
import { IdentityService } from 'src/identity/identity.service';
import type { IssuedSession } from 'src/identity/identity.types';
import { sessionTokenHash } from 'src/identity/session-token';
import { safeReturnTo } from 'src/oauth/return-to';
import { Metrics } from 'src/metrics/metrics';
import { QrLoginEvents } from 'src/qr-login/qr-login-events';
import { isAttemptId, QrLoginAttempt, QrLoginRepository, QrLoginStatus } from 'src/qr-login/qr-login.repository';
import { QrCodeClient } from 'src/qr-login/qrcode.client';
import { isWeChatErrcode } from 'src/wechat/http/wechat-api.error';
import { WeChatErrcode } from 'src/wechat/http/wechat-errcode';

/** The QR code lives 5 minutes (the contract), and so does its attempt. */
export const QR_EXPIRE_SECONDS = 300;
/** The scene prefix that marks a QR code as a login one; the rest is 128 random bits (38 characters of WeChat's 64). */
export const LOGIN_SCENE_PREFIX = 'login_';
/** The desktop-binding cookie value: 32 random bytes, base64url. */
const BROWSER_KEY = /^[A-Za-z0-9_-]{43}$/;

export interface CreatedAttempt {
  id: string;
  qrUrl: string;
  qrImage: string;
  expiresAt: string;
  eventsUrl: string;
  pollUrl: string;
}

export interface StatusRead {
  status: QrLoginStatus;
  /** Only on the read that logged the desktop in. */
  returnTo?: string;
  session?: IssuedSession;
}

/** What the phone's confirmation page shows, or where the phone must go first. */
export type ConfirmView =
  | { kind: 'authorize'; location: string }
  | { kind: 'ask'; id: string; accountName: string; createdAt: Date; csrf: string }
  | { kind: 'done'; status: 'confirmed' | 'denied' }
  | { kind: 'closed'; status: 'expired' | 'confirmed' | 'denied' | 'pending' }
  | { kind: 'refused'; reason: 'not_scanner' | 'csrf' }
  | { kind: 'unknown' };

/** A page to show the phone (every view but the redirect). */
export type PhoneView = Exclude<ConfirmView, { kind: 'authorize' }>;

/** What the webhook step replies to a login scan. */
export type ScanOutcome =
  | { kind: 'scanned'; confirmUrl: string }
  | { kind: 'confirmed' }
  | { kind: 'rescanned'; confirmUrl: string }
  | { kind: 'expired' | 'used' | 'unknown' };

const notFound = () => AppException.notFound('No such scan-to-login attempt in this browser.');

/**
 * Scan-to-login (扫码登录): the desktop's attempt and QR code, the scan (from the webhook step), the phone's decision,
 * and the desktop's one login. See README "PC scan-to-login".
 */
@Injectable()
export class QrLoginService {
  private readonly logger = new Logger(QrLoginService.name);
  private readonly publicBaseUrl: string;
  private readonly confirmMode: 'tap' | 'scan';
  private readonly csrfKey: Buffer;

  constructor(
    private readonly attempts: QrLoginRepository,
    private readonly events: QrLoginEvents,
    private readonly client: QrCodeClient,
    private readonly accounts: AccountRegistry,
    private readonly identities: IdentityService,
    config: ConfigService<Configuration, true>,
    private readonly metrics: Metrics,
  ) {
    const app = config.get('app', { infer: true });
    this.publicBaseUrl = app.publicBaseUrl;
    this.confirmMode = app.qrLoginConfirm;
    // A key of its own, derived from the data key: every instance computes the same CSRF tokens.
    this.csrfKey = Buffer.from(hkdfSync('sha256', app.dataEncryptionKey, '', 'qr-login csrf', 32));
  }

  /** A new attempt: a fresh scene, WeChat's temporary QR code for it, its row, and the image made here. */
  async create(input: { appid?: unknown; returnTo?: unknown; browserKey?: unknown }): Promise<{
    attempt: CreatedAttempt;
    browserKey: string;
  }> {
    if (input.appid !== undefined && typeof input.appid !== 'string') {
      throw AppException.badRequest('appid must be a string');
    }
    const account = this.accounts.officialAccount(input.appid);
    const { appid } = requireFields(account, 'appid', 'secret');
    const browserKey = isBrowserKey(input.browserKey) ? input.browserKey : randomBytes(32).toString('base64url');
    const scene = LOGIN_SCENE_PREFIX + randomBytes(16).toString('hex');
    const qr = await this.client.createTemporary(appid, scene, QR_EXPIRE_SECONDS).catch((error: unknown) => {
      if (isWeChatErrcode(error, WeChatErrcode.ApiUnauthorized)) {
        throw new AppException(
          500,
          'wechat_misconfigured',
          'This official account may not create QR codes: scan-to-login needs a verified service account (服务号).',
          { cause: error },
        );
      }
      throw error;
    });
    if (typeof qr.url !== 'string' || qr.url.length === 0) {
      throw new AppException(502, 'wechat_unavailable', 'WeChat answered the QR code request without its url.');
    }
    const granted = Number(qr.expire_seconds);
    const attempt = await this.attempts.create({
      appid,
      scene,
      browserHash: sha256Hex(browserKey),
      returnTo: safeReturnTo(input.returnTo),
      expiresInSeconds:
        Number.isFinite(granted) && granted > 0 ? Math.min(granted, QR_EXPIRE_SECONDS) : QR_EXPIRE_SECONDS,
    });
    const svg = await QRCode.toString(qr.url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    this.metrics.qrLoginAttempt('created');
    return {
      browserKey,
      attempt: {
        id: attempt.id,
        qrUrl: qr.url,
        qrImage: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`,
        expiresAt: attempt.expiresAt.toISOString(),
        eventsUrl: `/qr-login/${attempt.id}/events`,
        pollUrl: `/qr-login/${attempt.id}`,
      },
    };
  }

  /** The desktop's read: its status; the first read of a confirmed attempt also logs the desktop in. */
  async status(id: unknown, browserKey: unknown): Promise<StatusRead> {
    const attempt = await this.ownAttempt(id, browserKey);
    if (attempt.status !== 'confirmed' || attempt.consumedAt !== null) {
      return { status: attempt.status };
    }
    const claimed = await this.attempts.claimLogin(attempt.id, sha256Hex(browserKey as string));
    if (!claimed || !claimed.openid) {
      // Another read got here first (or the time to collect ran out): nothing more for this one.
      const now = await this.attempts.findById(attempt.id);
      return { status: now?.status ?? 'expired' };
    }
    try {
      const login = await this.identities.login({
        appid: claimed.appid,
        openid: claimed.openid,
        source: 'official_account',
      });
      this.logger.log(`Scan-to-login ${claimed.id}: user ${login.userId} logged in (openid ${claimed.openid})`);
      this.metrics.qrLoginAttempt('logged_in');
      return { status: 'confirmed', returnTo: claimed.returnTo, session: login.session };
    } catch (error) {
      await this.attempts.releaseLogin(claimed.id).catch(() => undefined);
      throw error;
    }
  }

  /** The desktop's event stream of its attempt. */
  async stream(id: unknown, browserKey: unknown): Promise<Readable> {
    return this.events.open(await this.ownAttempt(id, browserKey));
  }

  /**
   * The scan, from a signature-checked webhook delivery to `appid`: a live pending attempt becomes scanned by
   * `openid` (or confirmed, with QR_LOGIN_CONFIRM=scan). Anything else changes nothing and says why.
   */
  async scan(appid: string, scene: string, openid: string): Promise<ScanOutcome> {
    const outcome = await this.scanAttempt(appid, scene, openid);
    this.metrics.qrLoginAttempt(`scan_${outcome.kind}`);
    return outcome;
  }

  private async scanAttempt(appid: string, scene: string, openid: string): Promise<ScanOutcome> {
    const moved = await this.attempts.markScanned(appid, scene, openid, this.confirmMode === 'scan');
    if (moved) {
      this.logger.log(`Scan-to-login ${moved.id} ${moved.status} by ${openid}`);
      return moved.status === 'confirmed'
        ? { kind: 'confirmed' }
        : { kind: 'scanned', confirmUrl: this.confirmUrl(moved.id) };
    }
    const attempt = await this.attempts.findByScene(appid, scene);
    if (!attempt) {
      return { kind: 'unknown' };
    }
    if (attempt.status === 'scanned' && attempt.openid === openid) {
      // The same phone scanning again before it decided: the same link again.
      return { kind: 'rescanned', confirmUrl: this.confirmUrl(attempt.id) };
    }
    return { kind: attempt.status === 'expired' ? 'expired' : 'used' };
  }

  /**
   * The phone's confirmation page. The phone is known by its session (cookie `sid`) and the session user's identity
   * under the attempt's account; without one, a silent `snsapi_base` authorization makes it, once (`viaOAuth` marks
   * the way back).
   */
  async confirmView(id: unknown, sessionToken: string | null, viaOAuth: boolean): Promise<ConfirmView> {
    const attempt = isAttemptId(id) ? await this.attempts.findById(id) : null;
    const account = attempt ? this.accounts.find(attempt.appid) : undefined;
    if (!attempt || !account) {
      return { kind: 'unknown' };
    }
    if (attempt.status !== 'scanned') {
      return { kind: 'closed', status: attempt.status };
    }
    const isScanner = await this.isScanner(attempt, sessionToken);
    if (!isScanner) {
      if (viaOAuth) {
        return { kind: 'refused', reason: 'not_scanner' };
      }
      const back = `/qr-login/${attempt.id}/confirm?via=oauth`;
      return {
        kind: 'authorize',
        location: `/oauth/authorize?scope=snsapi_base&appid=${attempt.appid}&returnTo=${encodeURIComponent(back)}`,
      };
    }
    return {
      kind: 'ask',
      id: attempt.id,
      accountName: account.name ?? attempt.appid,
      createdAt: attempt.createdAt,
      csrf: this.csrfToken(attempt.id, sessionToken!),
    };
  }

  /** The phone's 确认登录 (`confirm`) or 取消 (`cancel`): only the openid that scanned, with the page's CSRF token. */
  async decide(id: unknown, sessionToken: string | null, action: unknown, csrf: unknown): Promise<PhoneView> {
    const view = await this.decideAttempt(id, sessionToken, action, csrf);
    this.metrics.qrLoginAttempt(`phone_${view.kind === 'done' ? view.status : view.kind}`);
    return view;
  }

  private async decideAttempt(
    id: unknown,
    sessionToken: string | null,
    action: unknown,
    csrf: unknown,
  ): Promise<PhoneView> {
    const attempt = isAttemptId(id) ? await this.attempts.findById(id) : null;
    if (!attempt) {
      return { kind: 'unknown' };
    }
    if (action !== 'confirm' && action !== 'cancel') {
      throw AppException.badRequest('action must be confirm or cancel');
    }
    if (!sessionToken || typeof csrf !== 'string' || !safeEqual(csrf, this.csrfToken(attempt.id, sessionToken))) {
      return { kind: 'refused', reason: 'csrf' };
    }
    if (!(await this.isScanner(attempt, sessionToken))) {
      return { kind: 'refused', reason: 'not_scanner' };
    }
    const decided = await this.attempts.decide(
      attempt.id,
      attempt.openid!,
      action === 'confirm' ? 'confirmed' : 'denied',
    );
    if (!decided) {
      const now = await this.attempts.findById(attempt.id);
      const status = now?.status ?? 'expired';
      return { kind: 'closed', status: status === 'scanned' ? 'expired' : status };
    }
    this.logger.log(`Scan-to-login ${decided.id} ${decided.status} on the phone by ${decided.openid}`);
    return { kind: 'done', status: decided.status === 'confirmed' ? 'confirmed' : 'denied' };
  }

  private async ownAttempt(id: unknown, browserKey: unknown): Promise<QrLoginAttempt> {
    if (!isAttemptId(id) || !isBrowserKey(browserKey)) {
      throw notFound();
    }
    const attempt = await this.attempts.findForBrowser(id, sha256Hex(browserKey));
    if (!attempt) {
      throw notFound();
    }
    return attempt;
  }

  /** True when the session's user holds the identity that scanned the attempt. */
  private async isScanner(attempt: QrLoginAttempt, sessionToken: string | null): Promise<boolean> {
    if (!attempt.openid || sessionTokenHash(sessionToken) === null) {
      return false;
    }
    const me = await this.identities.findMeBySessionToken(sessionToken);
    return !!me?.identities.some((each) => each.appid === attempt.appid && each.openid === attempt.openid);
  }

  /** Binds the form to this attempt and this phone's session: a page of another session's cannot post for it. */
  private csrfToken(id: string, sessionToken: string): string {
    return createHmac('sha256', this.csrfKey)
      .update(`${id}.${sha256Hex(sessionToken)}`)
      .digest('base64url');
  }

  private confirmUrl(id: string): string {
    return `${this.publicBaseUrl}/qr-login/${id}/confirm`;
  }
}

function isBrowserKey(value: unknown): value is string {
  return typeof value === 'string' && BROWSER_KEY.test(value);
}
