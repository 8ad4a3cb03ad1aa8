import { AppException } from 'src/common/errors/app-exception';
import {
  accessControlAllowOrigin,
  MAX_PAGE_URL_LENGTH,
  normalizeAllowedHost,
  pageUrlToSign,
  parseAllowedHosts,
} from 'src/jssdk/page-url';

const ALLOWED = parseAllowedHosts('h5.example.com, shop.example.com:8443, localhost:3000, [::1]:8080, 例子.中国');

/** The AppException `pageUrlToSign` throws, or a failure when it does not throw one. */
function refusal(raw: unknown, allowed: readonly string[] = ALLOWED): AppException {
  try {
    pageUrlToSign(raw, allowed);
  } catch (error) {
    if (error instanceof AppException) {
      return error;
    }
    throw error;
  }
  throw new Error(`pageUrlToSign accepted ${String(raw)}`);
}

describe(pageUrlToSign.name, () => {
  it('should strip the fragment and keep everything before it byte for byte', () => {
    expect(pageUrlToSign('https://h5.example.com/shop/item?id=7#/detail?tab=2', ALLOWED)).toBe(
      'https://h5.example.com/shop/item?id=7',
    );
    expect(pageUrlToSign('https://h5.example.com/#', ALLOWED)).toBe('https://h5.example.com/');
    expect(pageUrlToSign('https://h5.example.com', ALLOWED)).toBe('https://h5.example.com');
  });

  it.each([
    'https://h5.example.com/?a=1&b=%E4%BD%A0&c',
    'https://h5.example.com/p?b=2&a=1&a=0&=&&x=%2b+y',
    'https://h5.example.com/p?q=你好&r=%e4%bd%a0',
    'https://h5.example.com/a/../b/./c?',
    'https://h5.example.com?only=query',
    'https://h5.example.com/p?next=https://other.example.org/#frag',
  ])('should keep the query and path exactly as given: %s', (raw) => {
    const page = raw.split('#')[0];
    expect(pageUrlToSign(raw, ALLOWED)).toBe(page);
  });

  it.each([
    ['javascript:', 'javascript:alert(1)//h5.example.com/'],
    ['ftp:', 'ftp://h5.example.com/file'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['file:', 'file:///etc/passwd'],
    ['ws:', 'ws://h5.example.com/'],
    ['relative path', '/shop?x=1'],
    ['protocol-relative', '//h5.example.com/shop'],
    ['bare host', 'h5.example.com/shop'],
    ['one slash', 'https:/h5.example.com/'],
    ['no slash', 'https:h5.example.com'],
    ['backslashes', 'https:\\\\h5.example.com\\'],
    ['backslash after the host', 'https://evil.example.org\\@h5.example.com/'],
    ['no host', 'https:///shop'],
  ])('should refuse a url that is not absolute http(s) (%s)', (_what, raw) => {
    const error = refusal(raw);
    expect(error.status).toBe(400);
    expect(error.code).toBe('bad_request');
    expect(error.message).toMatch(/^url /);
  });

  it.each([
    ['user and password', 'https://user:pass@h5.example.com/'],
    ['user', 'https://h5.example.com@evil.example.org/'],
    ['empty user', 'https://@h5.example.com/'],
  ])('should refuse userinfo (%s)', (_what, raw) => {
    expect(refusal(raw).message).toBe('url must not carry a user name or password.');
  });

  it.each([
    ['another host', 'https://evil.example.org/'],
    ['a sub-domain of an allowed host', 'https://a.h5.example.com/'],
    ['a parent of an allowed host', 'https://example.com/'],
    ['an allowed name as a prefix', 'https://h5.example.com.evil.example.org/'],
    ['a non-default port on a bare entry', 'https://h5.example.com:8443/'],
    ['port 443 under http on a bare entry', 'http://h5.example.com:443/'],
    ['the default port of a host:port entry', 'https://shop.example.com/'],
    ['another port of a host:port entry', 'http://localhost:3001/'],
    ['localhost without the port', 'http://localhost/'],
    ['another IPv6 port', 'http://[::1]:8081/'],
  ])('should refuse a page not on an allowed host and port (%s)', (_what, raw) => {
    const error = refusal(raw);
    expect(error).toMatchObject({ status: 400, code: 'bad_request' });
    expect(error.message).toMatch(/^url must be a page on a host in JSSDK_ALLOWED_HOSTS/);
  });

  it.each([
    ['a bare entry on https', 'https://h5.example.com/'],
    ['a bare entry on http', 'http://h5.example.com/'],
    ['a bare entry with the default port spelled out', 'https://h5.example.com:443/'],
    ['a host:port entry under https', 'https://shop.example.com:8443/cart'],
    ['a host:port entry under http', 'http://shop.example.com:8443/cart'],
    ['localhost with its port', 'http://localhost:3000/demo'],
    ['an IPv6 literal with its port', 'http://[::1]:8080/'],
    ['an IPv6 literal written long', 'http://[0:0:0:0:0:0:0:1]:8080/'],
    ['an internationalised name', 'https://例子.中国/'],
    ['an internationalised name in punycode', 'https://xn--fsqu00a.xn--fiqs8s/'],
  ])('should accept %s', (_what, raw) => {
    expect(pageUrlToSign(raw, ALLOWED)).toBe(raw);
  });

  it('should compare hosts and schemes case-insensitively but sign the url as given', () => {
    expect(pageUrlToSign('HTTPS://H5.Example.COM/Path?Q=A', ALLOWED)).toBe('HTTPS://H5.Example.COM/Path?Q=A');
    expect(pageUrlToSign('https://SHOP.EXAMPLE.COM:8443/', ALLOWED)).toBe('https://SHOP.EXAMPLE.COM:8443/');
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['a number', 42],
    ['repeated', ['https://h5.example.com/', 'https://h5.example.com/']],
    ['too long', `https://h5.example.com/?q=${'a'.repeat(MAX_PAGE_URL_LENGTH)}`],
    ['a raw space', 'https://h5.example.com/a b'],
    ['a tab in the host', 'https://h5.exam\tple.com/'],
    ['a newline', 'https://h5.example.com/\n'],
    ['a leading space', ' https://h5.example.com/'],
  ])('should refuse a url that is %s', (_what, raw) => {
    expect(refusal(raw)).toMatchObject({ status: 400, code: 'bad_request', message: expect.stringMatching(/^url /) });
  });

  it('should allow nothing with an empty allow list', () => {
    expect(refusal('https://h5.example.com/', []).message).toMatch(/JSSDK_ALLOWED_HOSTS/);
  });
});

describe(normalizeAllowedHost.name, () => {
  it.each([
    ['H5.Example.COM', 'h5.example.com'],
    ['  h5.example.com  ', 'h5.example.com'],
    ['h5.example.com:443', 'h5.example.com:443'],
    ['localhost:03000', 'localhost:3000'],
    ['[::1]', '[::1]'],
    ['[0:0:0:0:0:0:0:1]:8080', '[::1]:8080'],
    ['127.0.0.1:3000', '127.0.0.1:3000'],
    ['例子.中国', 'xn--fsqu00a.xn--fiqs8s'],
    ['internal_host', 'internal_host'],
  ])('should normalise %s to %s', (entry, normal) => {
    expect(normalizeAllowedHost(entry)).toBe(normal);
  });

  it.each([
    'https://h5.example.com',
    'h5.example.com/path',
    'user@h5.example.com',
    '*.example.com',
    'h5.example.com:0',
    'h5.example.com:65536',
    'h5.example.com:',
    '::1',
    '[::1',
    'h5..example.com',
    '.example.com',
    'h5.example.com.',
    '',
  ])('should refuse %j', (entry) => {
    expect(() => normalizeAllowedHost(entry)).toThrow(Error);
  });
});

describe(parseAllowedHosts.name, () => {
  it('should split on commas, drop blanks and repeats, and normalise each entry', () => {
    expect(parseAllowedHosts('A.example.com, a.example.com,,b.example.com:8080 ,')).toEqual([
      'a.example.com',
      'b.example.com:8080',
    ]);
  });

  it('should refuse a list naming no host or holding a bad entry', () => {
    expect(() => parseAllowedHosts(' , ')).toThrow('names no host');
    expect(() => parseAllowedHosts('a.example.com,https://b.example.com')).toThrow('"https://b.example.com"');
  });
});

describe(accessControlAllowOrigin.name, () => {
  it.each([
    ['https://h5.example.com', 'https://h5.example.com'],
    ['http://h5.example.com', 'http://h5.example.com'],
    ['https://h5.example.com:443', 'https://h5.example.com'],
    ['https://shop.example.com:8443', 'https://shop.example.com:8443'],
    ['http://localhost:3000', 'http://localhost:3000'],
    ['http://[::1]:8080', 'http://[::1]:8080'],
    ['https://xn--fsqu00a.xn--fiqs8s', 'https://xn--fsqu00a.xn--fiqs8s'],
  ])('should echo the allowed origin %s', (origin, value) => {
    expect(accessControlAllowOrigin(origin, ALLOWED)).toBe(value);
  });

  it.each([
    ['absent', undefined],
    ['opaque', 'null'],
    ['wildcard', '*'],
    ['another host', 'https://evil.example.org'],
    ['another port', 'https://h5.example.com:8443'],
    ['a page url rather than an origin', 'https://h5.example.com/shop'],
    ['with a user', 'https://user@h5.example.com'],
    ['another scheme', 'ftp://h5.example.com'],
    ['a header-splitting attempt', 'https://h5.example.com\r\nSet-Cookie: a=b'],
  ])('should give no value for an origin that is %s', (_what, origin) => {
    expect(accessControlAllowOrigin(origin, ALLOWED)).toBeUndefined();
  });
});
