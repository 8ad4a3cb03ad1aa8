/**
 * The Content-Type Express's `res.type` wrote for a media type: text types (and JSON) carry `charset=utf-8`, other
 * types (application/xml) go as given. Fastify writes exactly what it is told, so the charset is added here.
 */
export function contentTypeWithCharset(type: string): string {
  if (/;\s*charset=/i.test(type)) {
    return type;
  }
  return /^text\/|^application\/json$/i.test(type) ? `${type}; charset=utf-8` : type;
}
