import { AppException } from 'src/common/errors/app-exception';

/**
 * The JS-SDK's URL rules (contract "JS-SDK"), as pure functions.
 *
 * An allow-list entry is `host` or `host:port` (`JSSDK_ALLOWED_HOSTS`). An entry without a port allows the host on its
 * scheme's default port only (80 for http:, 443 for https:), as `example.com` in a browser's address bar means; a
 * page on another port of the same host (a dev server, an admin console) needs its own `host:port` entry. An entry
 * with a port allows that port under either scheme, so `example.com:443` also allows `https://example.com/`. Hosts
 * compare case-insensitively, internationalised names by their punycode, IPv6 literals in brackets (`[::1]:8080`).
 */

/** Longer than any page URL a browser hands a page; the signature is over it, so there is a bound. */
export const MAX_PAGE_URL_LENGTH = 4096;

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443 };
// A browser's location.href has none of these raw: they would be percent-encoded. WHATWG URL parsing drops some of
// them silently (tabs, newlines, leading spaces), which would make the host we check differ from the string we sign.
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u0020\u007f-\u009f]/;
const ENTRY = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/?#@[\]\\,]+)(?::(\d{1,5}))?$/;
const NORMAL_HOSTNAME = /^(\[[0-9a-f:.]+\]|[a-z0-9_-]+(\.[a-z0-9_-]+)*)$/;
/** Scheme, then `//`, then the authority up to the first `/`, `?`, `#` or `\` (which WHATWG reads as `/`). */
const ABSOLUTE_HTTP = /^(https?):\/\/([^/?#\\]*)(.*)$/is;

/**
 * Normalises one `JSSDK_ALLOWED_HOSTS` entry to the form `pageUrlToSign` compares with: lower-case hostname (punycode
 * for an internationalised one, IPv6 in brackets), then `:port` only when the entry names one. Throws an `Error`
 * saying why an entry is not a `host` or `host:port`.
 */
export function normalizeAllowedHost(entry: string): string {
  const match = ENTRY.exec(entry.trim());
  if (!match) {
    throw new Error(`"${entry}" is not a host or host:port (no scheme, path, user or wildcard)`);
  }
  const [, host, port] = match;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}/`).hostname;
  } catch {
    throw new Error(`"${entry}" is not a valid host name`);
  }
  if (!NORMAL_HOSTNAME.test(hostname)) {
    throw new Error(`"${entry}" is not a valid host name`);
  }
  if (port === undefined) {
    return hostname;
  }
  const number = Number(port);
  if (number < 1 || number > 65535) {
    throw new Error(`"${entry}" has a port outside 1-65535`);
  }
  return `${hostname}:${number}`;
}

/** Splits and normalises a comma-separated `JSSDK_ALLOWED_HOSTS`, dropping blanks and repeats. */
export function parseAllowedHosts(list: string): string[] {
  const entries = list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map(normalizeAllowedHost);
  if (entries.length === 0) {
    throw new Error('names no host');
  }
  return [...new Set(entries)];
}

interface Located {
  /** `host` as the allow list holds it when the port is the scheme's default, else undefined. */
  bareKey?: string;
  /** `host:port` with the effective port. */
  portKey: string;
  origin: string;
}

/** Where an `http(s)://authority` points, by WHATWG's reading (the browser's); undefined when it is no host. */
function locate(scheme: string, authority: string): Located | undefined {
  if (authority.length === 0 || authority.includes('@')) {
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(`${scheme}://${authority}/`);
  } catch {
    return undefined;
  }
  if (url.hostname.length === 0) {
    return undefined;
  }
  const defaultPort = DEFAULT_PORTS[scheme];
  const port = url.port === '' ? defaultPort : Number(url.port);
  return {
    bareKey: port === defaultPort ? url.hostname : undefined,
    portKey: `${url.hostname}:${port}`,
    origin: url.origin,
  };
}

const isAllowed = (located: Located, allowedHosts: readonly string[]): boolean =>
  allowedHosts.includes(located.portKey) || (located.bareKey !== undefined && allowedHosts.includes(located.bareKey));

/**
 * The URL to sign for `GET /jssdk/config?url=…`: the raw query value up to its first `#`, byte for byte — the query
 * is never re-serialised, since WeChat signs the page's own `location.href` without the fragment. Throws 400
 * `bad_request` naming `url` unless it is an absolute http(s) URL, without user or password, on an allowed host and
 * port. `allowedHosts` holds entries as `normalizeAllowedHost` returns them (the typed configuration's).
 */
export function pageUrlToSign(raw: unknown, allowedHosts: readonly string[]): string {
  if (Array.isArray(raw)) {
    throw AppException.badRequest('url must be given once.');
  }
  if (typeof raw !== 'string' || raw.length === 0) {
    throw AppException.badRequest('url is required: the page URL to sign (location.href without its #fragment).');
  }
  if (raw.length > MAX_PAGE_URL_LENGTH) {
    throw AppException.badRequest(`url must be at most ${MAX_PAGE_URL_LENGTH} characters.`);
  }
  if (UNSAFE_CHARACTERS.test(raw)) {
    throw AppException.badRequest('url must not contain spaces or control characters (percent-encode them).');
  }
  const hashAt = raw.indexOf('#');
  const page = hashAt === -1 ? raw : raw.slice(0, hashAt);
  const match = ABSOLUTE_HTTP.exec(page);
  if (!match || (match[3] !== '' && !/^[/?]/.test(match[3]))) {
    throw AppException.badRequest('url must be an absolute http:// or https:// URL.');
  }
  const [, scheme, authority] = match;
  if (authority.includes('@')) {
    throw AppException.badRequest('url must not carry a user name or password.');
  }
  const located = locate(scheme.toLowerCase(), authority);
  if (!located) {
    throw AppException.badRequest('url must name a valid host.');
  }
  if (!isAllowed(located, allowedHosts)) {
    throw AppException.badRequest(`url must be a page on a host in JSSDK_ALLOWED_HOSTS (not ${located.portKey}).`);
  }
  return page;
}

/**
 * The `Access-Control-Allow-Origin` value for a request whose `Origin` header is `origin`: that origin, serialised
 * as browsers do, when it is http(s) on an allowed host and port — the page asking is the page to be signed — else
 * undefined (send no header; never `*`). Answers that carry it should also say `Vary: Origin`.
 */
export function accessControlAllowOrigin(origin: unknown, allowedHosts: readonly string[]): string | undefined {
  if (typeof origin !== 'string' || origin.length > MAX_PAGE_URL_LENGTH || UNSAFE_CHARACTERS.test(origin)) {
    return undefined;
  }
  const match = ABSOLUTE_HTTP.exec(origin);
  if (!match || match[3] !== '') {
    return undefined;
  }
  const located = locate(match[1].toLowerCase(), match[2]);
  return located && isAllowed(located, allowedHosts) ? located.origin : undefined;
}
