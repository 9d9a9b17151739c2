// The host's DNS resolvers, read as passt reads them, so the nat filter can let DNS reach
// them (and only DNS) even when they sit on a private or loopback address.
import { readFileSync } from 'node:fs';
import { parseIPv4 } from '../address.js';

/**
 * Where a client's DNS queries go: each IPv4 nameserver in /etc/resolv.conf, except that
 * a loopback one (systemd-resolved, dnsmasq) is reached through the gateway, which passt
 * maps to the host's loopback.
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
    out.add(bytes[0] === 127 ? gateway : m[1]);
  }
  return [...out];
}
