// The host's DNS resolvers, read as passt reads them, so the nat filter can let DNS reach
// them (and only DNS) even when they sit on a private or loopback address.
import { readFileSync } from 'node:fs';
import { parseIPv4 } from '../address.js';

/**
 * Where a client's DNS queries go: each IPv4 nameserver in /etc/resolv.conf, except that
 * 127.0.0.1 is reached through the gateway, which passt maps to exactly that address.
 * Another loopback resolver (systemd-resolved's 127.0.0.53) is left out: the gateway does
 * not lead there, and letting port 53 of the gateway through for it would reach whatever
 * else listens on 127.0.0.1:53.
 */
export function dnsTargets(gateway: string, resolvConf = '/etc/resolv.conf'): string[] {
  let text = '';
  try {
    text = readFileSync(resolvConf, 'utf8');
  } catch {
    return [];
  }
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const bytes = m?.[1] ? parseIPv4(m[1]) : null;
    if (!bytes || !m?.[1]) continue;
    if (bytes[0] !== 127) out.add(m[1]);
    else if (bytes[1] === 0 && bytes[2] === 0 && bytes[3] === 1) out.add(gateway);
  }
  return [...out];
}
