/** Where a login goes back to when `returnTo` is absent or unsafe. */
export const DEFAULT_RETURN_TO = '/';

const BASE = 'http://return-to.invalid';
// Control characters and whitespace: header splitting and browsers' silent stripping both start here.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0020\u007f-\u009f\\]/;

/**
 * Keeps `returnTo` only when it is a path on this site: it must start with exactly one `/`, and neither it nor its
 * percent-decoded form may hold a backslash, control character or whitespace, or start with `//` or `/\` — the
 * forms browsers turn into another host (`//evil`, `/\evil`, `/%5Cevil`, `/%2F%2Fevil`). Anything else gives `/`.
 */
export function safeReturnTo(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048) {
    return DEFAULT_RETURN_TO;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return DEFAULT_RETURN_TO;
  }
  for (const form of [raw, decoded]) {
    if (!form.startsWith('/') || form.startsWith('//') || FORBIDDEN.test(form)) {
      return DEFAULT_RETURN_TO;
    }
  }
  // Last line of defence: whatever the browser makes of it must stay on this origin.
  if (new URL(raw, BASE).origin !== BASE || new URL(decoded, BASE).origin !== BASE) {
    return DEFAULT_RETURN_TO;
  }
  return raw;
}
