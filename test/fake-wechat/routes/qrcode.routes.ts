import { randomBytes } from 'node:crypto';
import type { FakeResponse, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { wechatError } from 'test/fake-wechat/fake-wechat.server';
import { checkAccessToken } from 'test/fake-wechat/routes/token.routes';
import { sendToWebhook, SendResult } from 'test/fake-wechat/webhook-sender';
import { toXml, WebhookMode } from 'test/support/wechat-signer';

/** A QR code WeChat issued: what it encodes and until when a scan of it is delivered. */
export interface IssuedQrCode {
  appid: string;
  ticket: string;
  url: string;
  action: 'QR_SCENE' | 'QR_STR_SCENE' | 'QR_LIMIT_SCENE' | 'QR_LIMIT_STR_SCENE';
  scene: string;
  /** Undefined for a permanent code. */
  expiresAt?: number;
  createdAt: number;
}

/** An official account's 服务器配置 as WeChat holds it: where its events go, signed and sealed how. */
export interface ServerConfig {
  url: string;
  token: string;
  aesKey?: string;
  mode?: WebhookMode;
  /** The account's original id (gh_…), the ToUserName of its events. */
  originalId?: string;
}

interface QrState {
  byTicket: Map<string, IssuedQrCode>;
  byUrl: Map<string, IssuedQrCode>;
  /** Per appid, the openids that follow it (a first scan follows: subscribe; later ones are SCAN). */
  followers: Map<string, Set<string>>;
  servers: Map<string, ServerConfig>;
}

export function qrState(fake: FakeWeChat): QrState {
  return fake.stateOf<QrState>('qrcodes', () => ({
    byTicket: new Map(),
    byUrl: new Map(),
    followers: new Map(),
    servers: new Map(),
  }));
}

const TEMPORARY_MAX_SECONDS = 2_592_000;
const TEMPORARY_DEFAULT_SECONDS = 60;

/** The checks of /cgi-bin/qrcode/create (生成带参数的二维码) in WeChat's errcodes, then the code itself. */
function createQrCode(fake: FakeWeChat, appid: string, body: unknown): FakeResponse {
  const spec = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const action = spec.action_name;
  const scene = ((spec.action_info as Record<string, unknown> | undefined)?.scene ?? {}) as Record<string, unknown>;
  if (
    action !== 'QR_SCENE' &&
    action !== 'QR_STR_SCENE' &&
    action !== 'QR_LIMIT_SCENE' &&
    action !== 'QR_LIMIT_STR_SCENE'
  ) {
    return wechatError(40097, 'invalid args: action_name');
  }
  let value: string;
  if (action === 'QR_STR_SCENE' || action === 'QR_LIMIT_STR_SCENE') {
    if (typeof scene.scene_str !== 'string' || scene.scene_str.length < 1 || scene.scene_str.length > 64) {
      return wechatError(40097, 'invalid args: scene_str must be 1-64 characters');
    }
    value = scene.scene_str;
  } else {
    const id = scene.scene_id;
    const max = action === 'QR_LIMIT_SCENE' ? 100_000 : 0xffffffff;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > max) {
      return wechatError(40097, 'invalid args: scene_id');
    }
    value = String(id);
  }
  const temporary = action === 'QR_SCENE' || action === 'QR_STR_SCENE';
  let seconds: number | undefined;
  if (temporary) {
    const asked = spec.expire_seconds;
    seconds =
      typeof asked === 'number' && Number.isFinite(asked) && asked > 0
        ? Math.min(Math.floor(asked), TEMPORARY_MAX_SECONDS)
        : TEMPORARY_DEFAULT_SECONDS;
  }
  const path = randomBytes(16).toString('base64url').replace(/[-_]/g, 'x').slice(0, 22);
  const url = `http://weixin.qq.com/q/${path}`;
  // WeChat's tickets are base64 of an opaque blob that carries the url; this one does too.
  const ticket = Buffer.concat([randomBytes(12), Buffer.from(url), randomBytes(8)]).toString('base64');
  const issued: IssuedQrCode = {
    appid,
    ticket,
    url,
    action,
    scene: value,
    expiresAt: seconds === undefined ? undefined : fake.now() + seconds * 1000,
    createdAt: fake.now(),
  };
  const state = qrState(fake);
  state.byTicket.set(ticket, issued);
  state.byUrl.set(url, issued);
  return { body: seconds === undefined ? { ticket, url } : { ticket, expire_seconds: seconds, url } };
}

export interface ScanSpec {
  /** The code scanned, by its ticket or its url; or, to scan a code WeChat never issued, `scene` and `appid`. */
  ticket?: string;
  url?: string;
  /** The newest code issued (of `appid`, when given): what a person would scan off the screen just opened. */
  latest?: boolean;
  scene?: string;
  appid?: string;
  /** Who scans. Default `o-scanner-0001`. */
  openid?: string;
  /** `auto` (default): a first scan follows the account (subscribe), later ones are SCAN. */
  as?: 'auto' | 'scan' | 'subscribe';
  /** Where to deliver, overriding the account's registered 服务器配置. */
  server?: Partial<ServerConfig>;
}

export type ScanResult =
  | { ok: true; event: 'SCAN' | 'subscribe'; appid: string; scene: string; openid: string; delivery: SendResult }
  | { ok: false; status: number; error: string };

/** A scan as WeChat is about to deliver it: the event's XML and where it goes. */
export type PreparedScan =
  | {
      ok: true;
      event: 'SCAN' | 'subscribe';
      appid: string;
      scene: string;
      openid: string;
      createTime: number;
      xml: string;
      server: ServerConfig;
    }
  | { ok: false; status: number; error: string };

/**
 * What WeChat does when a user scans a QR code with the app, up to the delivery: the code looked up (an expired one
 * is refused as WeChat's app refuses it: nothing is sent), `SCAN` (a follower) or `subscribe` with `qrscene_<scene>`
 * (someone who follows by scanning), and the event's XML. `scanQrCode` delivers it; a caller that delivers it itself
 * (the soak, with WeChat's retries across instances) takes it from here.
 */
export function prepareScan(fake: FakeWeChat, spec: ScanSpec): PreparedScan {
  const state = qrState(fake);
  let appid: string | undefined = spec.appid;
  let scene: string | undefined = spec.scene;
  let ticket: string | undefined;
  if (spec.ticket !== undefined || spec.url !== undefined || spec.latest) {
    const issued =
      spec.ticket !== undefined
        ? state.byTicket.get(spec.ticket)
        : spec.url !== undefined
          ? state.byUrl.get(spec.url)
          : [...state.byTicket.values()].filter((code) => !spec.appid || code.appid === spec.appid).at(-1);
    if (!issued) {
      return { ok: false, status: 404, error: 'WeChat issued no such QR code' };
    }
    if (issued.expiresAt !== undefined && issued.expiresAt <= fake.now()) {
      return { ok: false, status: 410, error: 'the QR code has expired: WeChat shows 二维码已过期 and sends nothing' };
    }
    ({ appid, scene, ticket } = issued);
  }
  appid ??= [...fake.apps.values()].find((app) => app.kind === 'official_account')?.appid;
  if (!appid || scene === undefined) {
    return { ok: false, status: 400, error: 'give ticket, url, or scene (with appid)' };
  }
  const server = { ...state.servers.get(appid), ...spec.server };
  if (!server.url || !server.token) {
    return { ok: false, status: 400, error: `no server (url, token) registered for ${appid}: POST /__control/server` };
  }
  const openid = spec.openid ?? 'o-scanner-0001';
  const followers = state.followers.get(appid) ?? new Set<string>();
  state.followers.set(appid, followers);
  const event = spec.as === 'scan' || (spec.as !== 'subscribe' && followers.has(openid)) ? 'SCAN' : 'subscribe';
  followers.add(openid);
  const createTime = Math.floor(fake.now() / 1000);
  const xml = toXml({
    ToUserName: server.originalId ?? 'gh_emulator0001',
    FromUserName: openid,
    CreateTime: createTime,
    MsgType: 'event',
    Event: event,
    EventKey: event === 'SCAN' ? scene : `qrscene_${scene}`,
    Ticket: ticket ?? randomBytes(24).toString('base64'),
  });
  return { ok: true, event, appid, scene, openid, createTime, xml, server: server as ServerConfig };
}

/**
 * A WeChat user scanning a QR code with the app: WeChat sends the account's server the `SCAN` event (a follower) or
 * `subscribe` with `qrscene_<scene>` (someone who follows by scanning), signed with its Token and, with an AES key,
 * encrypted, and hands back the passive reply. An expired code is refused as WeChat's app refuses it (nothing sent).
 */
export async function scanQrCode(fake: FakeWeChat, spec: ScanSpec): Promise<ScanResult> {
  const scan = prepareScan(fake, spec);
  if (!scan.ok) {
    return scan;
  }
  const { appid, scene, openid, event, server } = scan;
  const delivery = await sendToWebhook(
    {
      url: server.url,
      token: server.token,
      aesKey: server.aesKey,
      appId: appid,
      mode: server.mode ?? (server.aesKey ? 'safe' : 'plain'),
    },
    scan.xml,
    { openid, attempts: 1 },
  );
  return { ok: true, event, appid, scene, openid, delivery };
}

/** `/cgi-bin/qrcode/create` and the scan controls (see control.routes.ts). */
export function registerQrCodeRoutes(fake: FakeWeChat): void {
  fake.route('POST', '/cgi-bin/qrcode/create', ({ query, body }) => {
    const checked = checkAccessToken(fake, query.access_token);
    if (!('appid' in checked)) {
      return checked;
    }
    return createQrCode(fake, checked.appid, body);
  });

  fake.route('POST', '/__control/server', ({ body }) => {
    const spec = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const appid = typeof spec.appid === 'string' ? spec.appid : undefined;
    if (!appid || typeof spec.url !== 'string' || typeof spec.token !== 'string') {
      return { status: 400, body: { error: 'appid, url and token are required' } };
    }
    const mode = spec.mode === 'plain' || spec.mode === 'compat' || spec.mode === 'safe' ? spec.mode : undefined;
    qrState(fake).servers.set(appid, {
      url: spec.url,
      token: spec.token,
      aesKey: typeof spec.aesKey === 'string' ? spec.aesKey : undefined,
      mode,
      originalId: typeof spec.originalId === 'string' ? spec.originalId : undefined,
    });
    return { body: { ok: true } };
  });

  fake.route('GET', '/__control/qrcodes', ({ query }) => {
    const codes = [...qrState(fake).byTicket.values()]
      .filter((code) => !query.appid || code.appid === query.appid)
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((code) => ({
        appid: code.appid,
        ticket: code.ticket,
        url: code.url,
        action: code.action,
        scene: code.scene,
        expiresIn: code.expiresAt === undefined ? null : Math.max(0, Math.round((code.expiresAt - fake.now()) / 1000)),
      }));
    return { body: { qrcodes: codes } };
  });

  fake.route('POST', '/__control/scan', async ({ body }) => {
    const spec = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const str = (value: unknown) => (typeof value === 'string' ? value : undefined);
    const as = spec.as === 'scan' || spec.as === 'subscribe' ? spec.as : 'auto';
    const server =
      typeof spec.server === 'object' && spec.server !== null ? (spec.server as Partial<ServerConfig>) : {};
    const result = await scanQrCode(fake, {
      ticket: str(spec.ticket),
      url: str(spec.url),
      latest: spec.latest === true,
      scene: str(spec.scene),
      appid: str(spec.appid),
      openid: str(spec.openid),
      as,
      server,
    });
    if (!result.ok) {
      return { status: result.status, body: { error: result.error } };
    }
    const { delivery } = result;
    return {
      body: {
        event: result.event,
        appid: result.appid,
        scene: result.scene,
        openid: result.openid,
        status: delivery.status ?? null,
        reply: delivery.reply ?? null,
      },
    };
  });
}
