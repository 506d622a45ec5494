/**
 * How a session is shown in "my sessions": a device from its user agent, and a place from its
 * address. Rampart ships no geolocation database (they are licensed and go stale); an address is
 * described as loopback, private network, or shown as it is.
 */
import { isIP } from 'node:net';
import { UAParser } from 'ua-parser-js';

export function describeDevice(userAgent: string | null): string {
  if (!userAgent) return 'Unknown device';
  const ua = new UAParser(userAgent).getResult();
  const browser = [ua.browser.name, ua.browser.major].filter(Boolean).join(' ');
  const os = [ua.os.name, ua.os.version].filter(Boolean).join(' ');
  if (!browser && !os) return userAgent.slice(0, 60);
  return browser && os ? `${browser} on ${os}` : browser || os;
}

export function describePlace(ip: string | null): string {
  if (!ip) return 'Unknown';
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (isIP(v4) === 4) {
    const [a = 0, b = 0] = v4.split('.').map(Number);
    if (a === 127) return 'This machine';
    if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127)) return 'Private network';
    if (a === 169 && b === 254) return 'Link-local network';
    return 'Internet';
  }
  const lower = ip.toLowerCase();
  if (lower === '::1') return 'This machine';
  if (/^f[cd]/.test(lower)) return 'Private network';
  if (/^fe[89ab]/.test(lower)) return 'Link-local network';
  return 'Internet';
}
