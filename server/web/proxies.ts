import net from 'node:net';
import type { Middleware } from 'koa';

/**
 * Who may speak for the client: X-Forwarded-* is honoured only from a socket
 * whose address is in this list, and X-Forwarded-For is believed only as far
 * as the hops in it are in this list too. Anyone else who reaches the port
 * directly is the client, whatever headers they send.
 */
export interface TrustedProxies {
  /** The entries as the operator wrote them, for messages. */
  readonly entries: readonly string[];
  trusts(address: string | undefined): boolean;
}

/** Loopback and the private ranges a compose network or a VPC load balancer uses. */
export const DEFAULT_TRUSTED_PROXIES = '127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7';

/** An entry of TRUSTED_PROXIES that is not an address or a CIDR range. */
export class InvalidTrustedProxy extends Error {
  readonly entry: string;
  constructor(entry: string) {
    super(`"${entry}" is not an IP address or CIDR range (like 10.0.0.0/8, 203.0.113.7 or fc00::/7)`);
    this.name = 'InvalidTrustedProxy';
    this.entry = entry;
  }
}

/** Reads "address,address/prefix,…" (IPv4 and IPv6); throws InvalidTrustedProxy naming the first bad entry. */
export function parseTrustedProxies(list: string): TrustedProxies {
  const blocks = new net.BlockList();
  const entries = list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw new InvalidTrustedProxy(list.trim());
  for (const entry of entries) {
    const match = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(entry);
    const address = match ? canonicalAddress(match[1]) : undefined;
    if (!match || !address || match[1].includes('%')) throw new InvalidTrustedProxy(entry);
    const family = net.isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (match[2] === undefined) {
      blocks.addAddress(address, family);
      continue;
    }
    const prefix = Number(match[2]);
    // An IPv4-mapped range (::ffff:10.0.0.0/104) is the IPv4 range it maps.
    const mapped = family === 'ipv4' && net.isIP(match[1]) === 6;
    const bits = mapped ? prefix - 96 : prefix;
    if (bits < 0 || bits > (family === 'ipv4' ? 32 : 128)) throw new InvalidTrustedProxy(entry);
    blocks.addSubnet(address, bits, family);
  }
  return {
    entries,
    trusts(raw) {
      const address = raw === undefined ? undefined : canonicalAddress(raw);
      if (!address) return false;
      return blocks.check(address, net.isIP(address) === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/**
 * One spelling per address, so that the throttle counts one client once:
 * IPv6 compressed and lower case, an IPv4-mapped IPv6 address (::ffff:a.b.c.d,
 * how a dual-stack socket reports IPv4 peers) as plain IPv4, a zone id
 * dropped. Undefined when it is not an address at all.
 */
export function canonicalAddress(raw: string): string | undefined {
  const address = raw.trim().replace(/%.*$/, '');
  const family = net.isIP(address);
  if (family === 4) return address;
  if (family !== 6) return undefined;
  // The WHATWG URL parser writes IPv6 in its canonical (RFC 5952) form.
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const high = Number.parseInt(mapped[1], 16);
  const low = Number.parseInt(mapped[2], 16);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** An X-Forwarded-For entry, which some proxies write with a port (1.2.3.4:5678, [2001:db8::1]:443). */
function hopAddress(entry: string): string | undefined {
  const item = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(item);
  if (bracketed) return canonicalAddress(bracketed[1]);
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(item);
  return canonicalAddress(withPort ? withPort[1] : item);
}

/**
 * The client's address. Only a trusted socket's X-Forwarded-For is read, from
 * the right: each entry was written by the proxy to its right, so the walk
 * goes on while the entry is itself a trusted proxy and stops at the first
 * that is not; that one is the client. An entry that is not an address ends
 * the walk at the hop before it, the last one a trusted proxy vouched for.
 */
export function clientAddress(proxies: TrustedProxies, socketAddress: string | undefined, forwardedFor: string | undefined): string {
  const direct = socketAddress === undefined ? undefined : canonicalAddress(socketAddress);
  if (!direct) return socketAddress ?? '';
  if (!forwardedFor || !proxies.trusts(direct)) return direct;
  const hops = forwardedFor.split(',');
  let client = direct;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hopAddress(hops[i]);
    if (!hop) break;
    client = hop;
    if (!proxies.trusts(hop)) break;
  }
  return client;
}

const FORWARDED_HEADERS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'];

/**
 * The first middleware: sets `ctx.ip` to the client's address for everything
 * below (throttle, logs, the provider), and drops X-Forwarded-* that did not
 * come from a trusted proxy, so that Koa's and the provider's protocol and
 * host come from the connection itself.
 */
export function forwardedHeaders({ trustProxy, trustedProxies }: { trustProxy: boolean; trustedProxies: TrustedProxies }): Middleware {
  return async (ctx, next) => {
    const socketAddress = ctx.req.socket.remoteAddress;
    const fromProxy = trustProxy && trustedProxies.trusts(socketAddress);
    if (!fromProxy) for (const name of FORWARDED_HEADERS) delete ctx.req.headers[name];
    ctx.request.ip = fromProxy
      ? clientAddress(trustedProxies, socketAddress, ctx.get('X-Forwarded-For'))
      : ((socketAddress && canonicalAddress(socketAddress)) ?? socketAddress ?? '');
    await next();
  };
}
