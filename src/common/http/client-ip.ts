import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

/**
 * The proxies whose `X-Forwarded-For` is believed: the loopback, link-local and private (unique-local) addresses, as
 * Express's `trust proxy` was set. One compiled function serves Fastify (`trustProxy`) and the fast lane, so a
 * request's client IP is the same whichever of them serves it.
 */
export const trustProxy = proxyAddr.compile(['loopback', 'linklocal', 'uniquelocal']);

/** The client's address: the socket's peer, or the nearest untrusted hop of `X-Forwarded-For` behind trusted proxies. */
export function clientIpOf(request: IncomingMessage): string {
  return proxyAddr(request, trustProxy);
}
