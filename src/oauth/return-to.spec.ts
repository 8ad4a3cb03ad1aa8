import { DEFAULT_RETURN_TO, safeReturnTo } from 'src/oauth/return-to';

describe(safeReturnTo.name, () => {
  it.each([
    ['/', '/'],
    ['/orders', '/orders'],
    ['/orders/42?tab=paid&x=%E4%BD%A0', '/orders/42?tab=paid&x=%E4%BD%A0'],
    ['/a/b#section', '/a/b#section'],
    ['/%E8%AE%A2%E5%8D%95', '/%E8%AE%A2%E5%8D%95'],
  ])('should keep the same-site path %s', (input, expected) => {
    expect(safeReturnTo(input)).toBe(expected);
  });

  it.each([
    ['protocol-relative', '//evil.example'],
    ['protocol-relative with path', '//evil.example/login'],
    ['backslash', '/\\evil.example'],
    ['double backslash', '\\\\evil.example'],
    ['encoded backslash', '/%5Cevil.example'],
    ['encoded backslash lower case', '/%5cevil.example'],
    ['encoded slashes', '/%2F%2Fevil.example'],
    ['encoded slash after one slash', '/%2Fevil.example'],
    ['absolute http URL', 'http://evil.example/'],
    ['absolute https URL', 'https://evil.example/path'],
    ['javascript scheme', 'javascript:alert(1)'],
    ['data scheme', 'data:text/html,<script>alert(1)</script>'],
    ['bare host', 'evil.example'],
    ['relative path', 'orders'],
    ['leading space', ' /orders'],
    ['tab inside', '/\t/evil.example'],
    ['newline (header splitting)', '/ok\r\nSet-Cookie: sid=x'],
    ['encoded newline', '/ok%0d%0aSet-Cookie:%20sid=x'],
    ['NUL', '/ok\u0000'],
    ['malformed percent-encoding', '/%E0%A4%A'],
    ['empty', ''],
    ['too long', `/${'a'.repeat(2048)}`],
  ])('should fall back to / for %s', (_label, input) => {
    expect(safeReturnTo(input)).toBe(DEFAULT_RETURN_TO);
  });

  it.each([[undefined], [null], [42], [['/a', '/b']], [{ path: '/a' }]])(
    'should fall back to / for the non-string %p',
    (input) => {
      expect(safeReturnTo(input)).toBe(DEFAULT_RETURN_TO);
    },
  );
});
