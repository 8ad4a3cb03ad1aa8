/** Code points a Location header may carry as they are (RFC 3986 characters, `%` checked separately). */
const UNSAFE = /%(?![0-9A-Fa-f]{2})|[^!#-;=?-_a-z|~]/gu;

function encodeOne(char: string): string {
  if (char === '%') {
    return '%25';
  }
  try {
    return encodeURI(char);
  } catch {
    // A lone surrogate: its replacement character, as Express writes it.
    return encodeURI('\uFFFD');
  }
}

/**
 * Percent-encodes what may not stand in a Location header, keeping valid `%XX` escapes, as Express's `res.redirect`
 * did. A returnTo with non-ASCII text (`/订单`) would otherwise make Node refuse the header.
 */
export function encodeLocation(url: string): string {
  return url.replace(UNSAFE, encodeOne);
}
