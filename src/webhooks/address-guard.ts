import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

// Where a webhook may be sent. An endpoint is an owner's input and the bridge sits inside the
// company's network: without a guard, a webhook is a way to make it POST into that network. So:
// https only (http for loopback and allow-listed hosts), and every address a host name resolves
// to is checked when the connection is made, not when the URL was saved, so a name that later
// resolves elsewhere (DNS rebinding) is refused too.

export class WebhookAddressError extends Error {
  override name = 'WebhookAddressError';
}

/** ipaddr.js ranges a webhook may reach: the public internet, and this host (as the spec allows). */
const REACHABLE_RANGES = new Set(['unicast', 'loopback']);
const LOOPBACK_NAMES = new Set(['localhost', 'localhost.']);

export interface AddressPolicy {
  /** Host names, IP addresses or CIDRs (WEBHOOK_ALLOW_HOSTS), lower-case. */
  readonly allowHosts: readonly string[];
}

function inListedRange(policy: AddressPolicy, address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return policy.allowHosts.some((entry) => {
    if (!ipaddr.isValidCIDR(entry) && !ipaddr.isValid(entry)) return false; // a host name
    const [range, bits] = entry.includes('/') ? ipaddr.parseCIDR(entry) : [ipaddr.process(entry), -1];
    return range.kind() === address.kind() && address.match(range, bits === -1 ? (range.kind() === 'ipv4' ? 32 : 128) : bits);
  });
}

function addressAllowed(policy: AddressPolicy, address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address); // an IPv4-mapped IPv6 address is judged as the IPv4 one
  return REACHABLE_RANGES.has(parsed.range()) || inListedRange(policy, parsed);
}

/** URL.hostname keeps IPv6 brackets. */
const bare = (hostname: string): string => hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();

/** Named in WEBHOOK_ALLOW_HOSTS, by name or (an IP literal) by address or range. */
const allowListed = (policy: AddressPolicy, host: string): boolean =>
  policy.allowHosts.includes(host) || (ipaddr.isValid(host) && inListedRange(policy, ipaddr.process(host)));

const isLoopbackHost = (host: string): boolean => LOOPBACK_NAMES.has(host) || (ipaddr.isValid(host) && ipaddr.process(host).range() === 'loopback');

/** Checks a URL an owner gives; the message says what to change. */
export function checkWebhookUrl(policy: AddressPolicy, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookAddressError('url must be an absolute URL, e.g. https://hooks.example.com/codex');
  }
  const host = bare(url.hostname);
  const httpAllowed = url.protocol === 'http:' && (allowListed(policy, host) || isLoopbackHost(host));
  if (url.protocol !== 'https:' && !httpAllowed) {
    throw new WebhookAddressError(`url must use https (http only for loopback or a host in WEBHOOK_ALLOW_HOSTS), got ${url.protocol}`);
  }
  if (url.username || url.password) throw new WebhookAddressError('url must not carry credentials; the signature authenticates the bridge');
  if (url.hash) throw new WebhookAddressError('url must not have a #fragment');
  if (isIP(host) !== 0 && !addressAllowed(policy, host)) {
    throw new WebhookAddressError(`url names ${host}, a private, link-local or reserved address; list it in WEBHOOK_ALLOW_HOSTS to allow it`);
  }
  return url;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A dns.lookup for the delivery connections (undici's `connect.lookup`): resolves as usual, then
 * refuses the connection when any address is out of bounds for a host that is not allow-listed.
 */
export function guardedLookup(policy: AddressPolicy, resolve: typeof dnsLookup = dnsLookup) {
  return (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const listed = policy.allowHosts.includes(bare(hostname));
      const refused = listed ? undefined : addresses.find((a) => !addressAllowed(policy, a.address));
      if (refused) {
        const err: NodeJS.ErrnoException = new WebhookAddressError(`${hostname} resolves to ${refused.address}, a private, link-local or reserved address (not in WEBHOOK_ALLOW_HOSTS)`);
        err.code = 'EWEBHOOKADDRESS';
        return callback(err, []);
      }
      if ((options as LookupAllOptions).all) return callback(null, addresses);
      const [first] = addresses;
      return callback(null, first!.address, first!.family);
    });
  };
}
