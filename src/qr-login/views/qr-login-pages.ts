import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { escapeHtml, layout, sendPage } from 'src/oauth/views/pages';

/**
 * Scan-to-login's pages: the phone's confirmation page (the look of the web login's pages: one card, WeChat green,
 * no script) and the desktop's `/login` page (one inline script, allowed by its hash, and no external asset).
 */

const PHONE_CSP =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** What the confirmation pages add to the shared phone look: the desktop icon, the request's details, the buttons. */
const PHONE_STYLE = `
.icon.ok{background:#07c160}
.pc{width:64px;height:44px;border:4px solid #07c160;border-radius:6px;margin:4px auto 14px;position:relative}
.pc:after{content:"";position:absolute;left:18px;right:18px;bottom:-12px;height:4px;background:#07c160;border-radius:2px}
dl{margin:16px 0 0;text-align:left;font-size:15px;background:#f7f8fa;border-radius:8px;padding:10px 14px}
dt{color:#86909c;float:left;width:5em}dd{margin:0 0 4px 5em}
button{display:block;width:100%;margin:20px 0 0;padding:13px 16px;border:0;border-radius:8px;font:inherit;background:#07c160;color:#fff}
button.secondary{margin-top:12px;background:#f2f3f5;color:#1d2129}
`;

function phoneLayout(title: string, body: string): string {
  return layout(title, body, PHONE_STYLE);
}

const BEIJING_TIME = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});

/** 确认登录 / 取消 for the phone that scanned: what is asking (the account, when the desktop asked). */
export function confirmPage(view: { id: string; accountName: string; createdAt: Date; csrf: string }): string {
  const action = `/qr-login/${view.id}/confirm`;
  const hidden = `<input type="hidden" name="csrf" value="${escapeHtml(view.csrf)}">`;
  return phoneLayout(
    '确认登录',
    `<div class="card"><div class="pc" aria-hidden="true"></div><h1>电脑端登录确认</h1>
<p>你刚刚扫码登录了电脑上的网站。是你本人在操作吗？</p>
<dl><dt>公众号</dt><dd>${escapeHtml(view.accountName)}</dd><dt>请求时间</dt><dd>${escapeHtml(BEIJING_TIME.format(view.createdAt))}（北京时间）</dd></dl>
<form method="post" action="${escapeHtml(action)}">${hidden}<button type="submit" name="action" value="confirm">确认登录</button></form>
<form method="post" action="${escapeHtml(action)}">${hidden}<button class="secondary" type="submit" name="action" value="cancel">取消</button></form>
<p class="muted">如果不是你本人操作，请点击取消。</p></div>`,
  );
}

type Notice = { icon: string; iconClass: string; title: string; detail: string };

const NOTICES = {
  confirmed: { icon: '✓', iconClass: 'ok', title: '已确认登录', detail: '请回到电脑上继续操作。' },
  denied: { icon: '×', iconClass: 'stop', title: '已取消登录', detail: '电脑上的这次登录已被取消。' },
  expired: { icon: '!', iconClass: '', title: '二维码已过期', detail: '请在电脑上刷新二维码后重新扫码。' },
  pending: { icon: 'i', iconClass: 'info', title: '请先扫码', detail: '请用微信扫描电脑上显示的二维码。' },
  used: { icon: 'i', iconClass: 'info', title: '这次登录已处理', detail: '这个二维码已经确认或取消过了。' },
  not_scanner: {
    icon: '!',
    iconClass: '',
    title: '无法确认这次登录',
    detail: '只有扫码的微信账号才能确认或取消这次登录。',
  },
  csrf: { icon: '!', iconClass: '', title: '页面已失效', detail: '请重新扫描电脑上的二维码。' },
  unknown: { icon: '?', iconClass: 'stop', title: '登录请求不存在', detail: '这个登录链接无效或已过期。' },
} satisfies Record<string, Notice>;

export type NoticeKind = keyof typeof NOTICES;

/** A one-card page saying how things stand (done, expired, refused, unknown). */
export function noticePage(kind: NoticeKind): string {
  const notice: Notice = NOTICES[kind];
  return phoneLayout(
    notice.title,
    `<div class="card"><div class="icon ${notice.iconClass}" aria-hidden="true">${notice.icon}</div>
<h1>${escapeHtml(notice.title)}</h1><p>${escapeHtml(notice.detail)}</p></div>`,
  );
}

/** Sends a phone page: no script, not cached, no referrer, not framed. */
export function sendPhonePage(res: FastifyReply, status: number, html: string): void {
  sendPage(res, status, html, PHONE_CSP);
}

/**
 * The desktop page's script: POST /qr-login for a QR code, follow its events, collect the login from the poll route
 * when confirmed and go to `returnTo`; 刷新 makes a new code. Falls back to polling when the stream breaks. It reads
 * its inputs from data attributes, so its text (and its CSP hash) never changes.
 */
const LOGIN_SCRIPT = `(function () {
  var root = document.getElementById('qr-login');
  var img = document.getElementById('qr-image');
  var text = document.getElementById('qr-status');
  var refresh = document.getElementById('qr-refresh');
  var words = {
    loading: '正在生成二维码…',
    pending: '请用微信扫码',
    scanned: '已扫码，请在手机上确认',
    confirmed: '已登录',
    denied: '已取消',
    expired: '二维码已过期，点击刷新',
    failed: '二维码生成失败，点击刷新'
  };
  var current = null;
  function show(status) {
    root.setAttribute('data-status', status);
    text.textContent = words[status] || status;
    refresh.hidden = !(status === 'expired' || status === 'denied' || status === 'failed');
  }
  function stop(attempt) {
    if (attempt.source) { attempt.source.close(); attempt.source = null; }
    if (attempt.timer) { clearInterval(attempt.timer); attempt.timer = null; }
  }
  function collect(attempt) {
    fetch(attempt.pollUrl, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) { return res.json(); })
      .then(function (body) { if (body.returnTo) { location.assign(body.returnTo); } });
  }
  function update(attempt, status) {
    if (attempt !== current || attempt.done) { return; }
    show(status);
    if (status === 'confirmed' || status === 'denied' || status === 'expired') {
      attempt.done = true;
      stop(attempt);
      if (status === 'confirmed') { collect(attempt); }
    }
  }
  function poll(attempt) {
    attempt.timer = setInterval(function () {
      fetch(attempt.pollUrl, { credentials: 'same-origin', cache: 'no-store' })
        .then(function (res) { return res.json(); })
        .then(function (body) {
          if (body.returnTo) { attempt.done = true; stop(attempt); show('confirmed'); location.assign(body.returnTo); }
          else if (body.status) { update(attempt, body.status); }
        });
    }, 2000);
  }
  function follow(attempt) {
    if (!window.EventSource) { poll(attempt); return; }
    var source = new EventSource(attempt.eventsUrl);
    attempt.source = source;
    source.addEventListener('status', function (event) { update(attempt, JSON.parse(event.data).status); });
    source.onerror = function () {
      if (source.readyState === 2 && !attempt.done && attempt === current) { attempt.source = null; poll(attempt); }
    };
  }
  function start() {
    if (current) { stop(current); }
    var attempt = { done: false };
    current = attempt;
    show('loading');
    var body = { returnTo: root.getAttribute('data-return-to') };
    var appid = root.getAttribute('data-appid');
    if (appid) { body.appid = appid; }
    fetch('/qr-login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })
      .then(function (res) { if (!res.ok) { throw new Error('HTTP ' + res.status); } return res.json(); })
      .then(function (created) {
        if (attempt !== current) { return; }
        attempt.pollUrl = created.pollUrl;
        attempt.eventsUrl = created.eventsUrl;
        img.src = created.qrImage;
        img.hidden = false;
        show('pending');
        follow(attempt);
      })
      .catch(function () { if (attempt === current) { img.hidden = true; show('failed'); } });
  }
  refresh.addEventListener('click', start);
  img.addEventListener('click', function () { if (!refresh.hidden) { start(); } });
  start();
})();`;

const LOGIN_SCRIPT_HASH = `sha256-${createHash('sha256').update(LOGIN_SCRIPT).digest('base64')}`;

const DESKTOP_CSP =
  `default-src 'none'; script-src '${LOGIN_SCRIPT_HASH}'; connect-src 'self'; img-src data:; ` +
  "style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const DESKTOP_STYLE = `
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;font:16px/1.6 -apple-system,BlinkMacSystemFont,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;background:#f2f3f5;color:#1d2129}
.card{width:360px;background:#fff;border-radius:12px;padding:32px 28px;text-align:center;box-shadow:0 1px 2px rgba(0,0,0,.06)}
h1{font-size:22px;margin:0 0 4px}
.muted{font-size:14px;color:#86909c;margin:0 0 20px}
.qr{width:240px;height:240px;margin:0 auto;border:1px solid #e5e6eb;border-radius:8px;display:flex;align-items:center;justify-content:center;background:#fff}
.qr img{width:224px;height:224px;image-rendering:pixelated}
[data-status=expired] .qr img,[data-status=denied] .qr img,[data-status=confirmed] .qr img{opacity:.15;cursor:pointer}
#qr-status{margin:16px 0 0;font-size:17px}
[data-status=scanned] #qr-status,[data-status=confirmed] #qr-status{color:#07c160}
[data-status=expired] #qr-status,[data-status=failed] #qr-status{color:#f53f3f}
button{margin:12px 0 0;padding:8px 28px;border:0;border-radius:8px;font:inherit;background:#07c160;color:#fff;cursor:pointer}
`;

/** `/login`: the QR code, its status in words, and 刷新 for a new code once it expired or was cancelled. */
export function loginPage(view: { returnTo: string; appid?: string }): string {
  const appid = view.appid ? ` data-appid="${escapeHtml(view.appid)}"` : '';
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>微信扫码登录</title>
<style>${DESKTOP_STYLE}</style>
</head>
<body>
<div class="card" id="qr-login" data-status="loading" data-return-to="${escapeHtml(view.returnTo)}"${appid}>
<h1>微信扫码登录</h1>
<p class="muted">打开微信，扫一扫下方二维码</p>
<div class="qr"><img id="qr-image" alt="登录二维码" hidden></div>
<p id="qr-status" role="status" aria-live="polite">正在生成二维码…</p>
<button id="qr-refresh" type="button" hidden>刷新二维码</button>
<noscript><p>请启用 JavaScript 后刷新本页。</p></noscript>
</div>
<script>${LOGIN_SCRIPT}</script>
</body>
</html>`;
}

export function sendLoginPage(res: FastifyReply, html: string): void {
  sendPage(res, 200, html, DESKTOP_CSP);
}
