import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import { clientIpOf, trustProxy } from 'src/common/http/client-ip';

/** proxy-addr's own answer for the same ranges: what the remembered one must always agree with. */
const oracle = proxyAddr.compile(['loopback', 'linklocal', 'uniquelocal']);

const ADDRESSES = [
  '127.0.0.1',
  '127.255.0.9',
  '::1',
  '::ffff:127.0.0.1',
  '10.0.0.5',
  '::ffff:10.0.0.5',
  '172.16.3.4',
  '172.32.0.1',
  '192.168.1.2',
  '169.254.10.10',
  'fe80::1',
  'fe80::1%eth0',
  'fc00::7',
  'fd12:3456::1',
  '203.0.113.7',
  '2001:db8::1',
  '::ffff:203.0.113.7',
  '8.8.8.8',
  '',
  'unknown',
  '10.0.0.5.evil',
  ' 10.0.0.5',
  '1'.repeat(200),
];

const requestFrom = (remoteAddress: string, forwardedFor?: string) =>
  ({
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    socket: { remoteAddress },
  }) as unknown as IncomingMessage;

describe('client IP (src/common/http/client-ip.ts)', () => {
  it("should trust exactly the addresses proxy-addr's ranges trust, asked once or many times", () => {
    for (let round = 0; round < 3; round += 1) {
      for (const [hop, address] of ADDRESSES.entries()) {
        expect([address, trustProxy(address, hop)]).toEqual([address, oracle(address, hop)]);
      }
    }
  });

  it('should still answer rightly past the addresses it remembers', () => {
    for (let i = 0; i < 3000; i += 1) {
      const address = i % 2 ? `10.${(i >> 8) & 255}.${i & 255}.1` : `203.0.${(i >> 8) & 255}.${i & 255}`;
      expect(trustProxy(address, 0)).toBe(oracle(address, 0));
      expect(trustProxy('127.0.0.1', 0)).toBe(true);
    }
  });

  it('should find the client as proxy-addr does: the nearest untrusted hop behind trusted proxies', () => {
    const cases: [string, string | undefined][] = [
      ['127.0.0.1', undefined],
      ['127.0.0.1', '203.0.113.7'],
      ['10.0.0.5', '203.0.113.7, 192.168.1.2'],
      ['10.0.0.5', '198.51.100.1, 203.0.113.7, 192.168.1.2'],
      ['203.0.113.9', '198.51.100.1'],
      ['::ffff:10.0.0.5', '2001:db8::1'],
      ['10.0.0.5', 'garbage, 10.0.0.6'],
    ];
    for (const [peer, forwardedFor] of cases) {
      const request = requestFrom(peer, forwardedFor);
      expect(clientIpOf(request)).toBe(proxyAddr(request, oracle));
    }
    expect(clientIpOf(requestFrom('10.0.0.5', '198.51.100.1, 203.0.113.7, 192.168.1.2'))).toBe('203.0.113.7');
  });
});
