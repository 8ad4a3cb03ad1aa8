import type { FastifyReply } from 'fastify';

/**
 * The tiny server-rendered pages of the web login, made for WeChat's in-app browser on a phone: viewport meta,
 * 16px+ type, inline CSS, no scripts and no external assets except the user's avatar image.
 */

/** No script may run on these pages; images may come from WeChat's avatar hosts (or the emulator's). */
export const PAGE_CSP =
  "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ENTITIES[char]);
}

/** Only http(s) image URLs reach an `src`; anything else (javascript:, data:…) shows no image. */
function safeImageUrl(url: string | null): string | null {
  if (!url) {
    return null;
  }
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.toString() : null;
  } catch {
    return null;
  }
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;min-height:100vh;font:17px/1.6 -apple-system,BlinkMacSystemFont,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;background:#f2f3f5;color:#1d2129;-webkit-text-size-adjust:100%}
main{max-width:480px;margin:0 auto;padding:24px 16px}
.card{background:#fff;border-radius:12px;padding:28px 20px;text-align:center;box-shadow:0 1px 2px rgba(0,0,0,.06)}
h1{font-size:22px;margin:12px 0 8px;word-break:break-all}
p{margin:8px 0;color:#4e5969}
.avatar{width:88px;height:88px;border-radius:50%;object-fit:cover;background:#e5e6eb;display:block;margin:0 auto}
.placeholder{width:88px;height:88px;border-radius:50%;background:#e5e6eb;margin:0 auto;display:flex;align-items:center;justify-content:center;font-size:36px;color:#86909c}
.btn{display:block;margin:20px 0 0;padding:13px 16px;border-radius:8px;font-size:17px;text-decoration:none;background:#07c160;color:#fff}
.btn.secondary{background:#f2f3f5;color:#1d2129}
form{margin:0}button.btn{width:100%;border:0;font-family:inherit;cursor:pointer}
.icon{width:56px;height:56px;border-radius:50%;margin:0 auto;display:flex;align-items:center;justify-content:center;font:600 30px/1 Arial,sans-serif;color:#fff;background:#ff7d00}
.icon.info{background:#3491fa}.icon.stop{background:#86909c}
.muted{font-size:14px;color:#86909c}
`;

/**
 * The phone page every WeChat-browser page shares (the web login's, scan-to-login's): one card, WeChat green, no
 * script. `extraStyle` adds a page family's own rules after the common ones.
 */
export function layout(title: string, body: string, extraStyle = ''): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}${extraStyle}</style>
</head>
<body><main>${body}</main></body>
</html>`;
}

/** A button that POSTs to `action` (a page action: no script runs on these pages). */
function postButton(action: string, label: string, secondary = false): string {
  return `<form method="post" action="${escapeHtml(action)}"><button class="btn${secondary ? ' secondary' : ''}" type="submit">${escapeHtml(label)}</button></form>`;
}

function link(href: string, label: string, secondary = false): string {
  return `<a class="btn${secondary ? ' secondary' : ''}" href="${escapeHtml(href)}">${escapeHtml(label)}</a>`;
}

/** The home page's actions (HomeController): refresh the profile through /api/me/sync's service, log out. */
export const HOME_SYNC_PATH = '/me/sync';
export const HOME_LOGOUT_PATH = '/logout';

export interface HomeView {
  nickname: string | null;
  avatarUrl: string | null;
}

/** `/`: the logged-in user's greeting, or the guest view with the login link. */
export function homePage(user: HomeView | null): string {
  if (!user) {
    return layout(
      '首页',
      `<div class="card"><div class="placeholder" aria-hidden="true">客</div>
<h1>你好，游客</h1><p>登录后即可使用完整服务，并显示你的微信昵称和头像。</p>
${link('/oauth/authorize', '微信登录')}</div>`,
    );
  }
  const name = user.nickname?.trim() ? user.nickname : '微信用户';
  const avatar = safeImageUrl(user.avatarUrl);
  const picture = avatar
    ? `<img class="avatar" src="${escapeHtml(avatar)}" alt="头像" referrerpolicy="no-referrer">`
    : `<div class="placeholder" aria-hidden="true">微</div>`;
  return layout(
    '首页',
    `<div class="card">${picture}<h1>欢迎, ${escapeHtml(name)}</h1><p class="muted">你已通过微信登录</p>
${postButton(HOME_SYNC_PATH, '更新微信资料', true)}${postButton(HOME_LOGOUT_PATH, '退出登录', true)}</div>`,
  );
}

/** The user tapped 拒绝 on WeChat's authorization page. */
export function refusedPage(retryUrl: string): string {
  return layout(
    '未授权',
    `<div class="card"><div class="icon stop" aria-hidden="true">×</div><h1>你拒绝了微信授权</h1>
<p>没有你的授权，我们无法为你登录。你仍可以游客身份浏览。</p>
${link(retryUrl, '重新授权')}${link('/', '返回首页', true)}</div>`,
  );
}

/** A visitor of WeChat's snapshot page (快照页) is a virtual account: ask them to open the full page. */
export function snapshotPage(retryUrl: string): string {
  return layout(
    '请使用完整服务',
    `<div class="card"><div class="icon info" aria-hidden="true">i</div><h1>当前为快照页，仅可浏览部分内容</h1>
<p>请点击屏幕右下角的「使用完整服务」打开完整页面，再登录。</p>
${link(retryUrl, '我已打开完整页面，重新登录')}${link('/', '返回首页', true)}</div>`,
  );
}

const ERROR_TEXT: Partial<Record<string, { title: string; detail: string }>> = {
  invalid_state: {
    title: '登录链接已失效',
    detail: '这个登录链接已经用过、已过期（10 分钟），或不是在这个浏览器中打开的。请重新登录。',
  },
  invalid_code: {
    title: '微信授权未通过',
    detail: '微信没有接受这次的授权码（可能已过期或已被使用）。请重新授权。',
  },
  wechat_unavailable: { title: '微信暂时无法访问', detail: '连接微信服务器失败或超时，请稍后再试。' },
  wechat_rate_limited: { title: '请求过于频繁', detail: '微信暂时限制了调用频率，请稍后再试。' },
  risky_user: { title: '登录被微信拒绝', detail: '微信的安全策略拒绝了这次登录。' },
  not_configured: { title: '微信登录尚未配置', detail: '服务管理员还没有设置公众号的 AppID 和 AppSecret。' },
  bad_request: { title: '请求有误', detail: '登录请求的参数不正确。' },
  not_found: { title: '公众号不存在', detail: '这个登录链接指向的公众号没有在本服务中配置。' },
  unauthorized: { title: '请先登录', detail: '绑定微信需要先登录你的账号，然后再从账号页面发起绑定。' },
  forbidden: { title: '无法绑定', detail: '绑定微信只能从本站的页面发起。' },
  conflict: {
    title: '该微信已绑定其他账号',
    detail: '这个微信号已经属于本服务的另一个账号，本次绑定没有做任何更改。请先登录那个账号，或换一个微信号绑定。',
  },
};

/** Error pages say what happened (ours, never WeChat's errmsg) and offer to try again. */
export function errorPage(error: { statusCode: number; error: string; message: string }): string {
  const text = ERROR_TEXT[error.error] ?? { title: '登录失败', detail: '登录时出现了问题，请稍后再试。' };
  return layout(
    text.title,
    `<div class="card"><div class="icon" aria-hidden="true">!</div><h1>${escapeHtml(text.title)}</h1>
<p>${escapeHtml(text.detail)}</p><p class="muted">${escapeHtml(error.message)}</p>
${link('/oauth/authorize', '重新登录')}${link('/', '返回首页', true)}</div>`,
  );
}

/** Sends a page with the headers every page carries: no scripts, no caching of personal pages, no referrer. */
export function sendPage(res: FastifyReply, status: number, html: string, csp = PAGE_CSP): void {
  void res
    .status(status)
    .headers({
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': csp,
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
    })
    .send(html);
}
