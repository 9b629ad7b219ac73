import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addressBucket, CLIENT_ADDRESS_HEADER, withClientAddress } from './addresses.ts';

const ROOT = join(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (['node_modules', 'dist', '.data', '.git'].includes(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.includes('.test.') ? [path] : [];
  });
}

describe('the client address Better Auth sees', () => {
  it('is the platform’s, never the client’s copy of the header', () => {
    const forged = new Headers({ [CLIENT_ADDRESS_HEADER]: '203.0.113.66', cookie: 'a=b' });
    expect(withClientAddress(forged, '198.51.100.7').get(CLIENT_ADDRESS_HEADER)).toBe('198.51.100.7');
    expect(withClientAddress(forged, undefined).has(CLIENT_ADDRESS_HEADER)).toBe(false);
    expect(withClientAddress(forged, undefined).get('cookie')).toBe('a=b');
    expect(forged.get(CLIENT_ADDRESS_HEADER)).toBe('203.0.113.66');
  });

  // Every auth.api call takes betterAuthHeaders(c) (or the admin console's
  // authHeaders): a request's raw headers would carry a forged address into
  // sessions and audit rows. Only the helpers themselves read them.
  it('reaches Better Auth only through the helpers that set it', () => {
    const readers = sources(ROOT).filter((path) => readFileSync(path, 'utf8').includes('c.req.raw.headers'));
    expect(readers.map((path) => relative(ROOT, path)).sort()).toEqual(['functions/admin/support.ts', 'functions/identity/better-auth.ts', 'middleware/addresses.ts']);
  });
});

describe('addressBucket', () => {
  it('counts an IPv4 address by itself and an IPv6 address by its /64, whatever its spelling', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('2001:db8:0:1::1')).toBe('2001:db8:0:1::/64');
    expect(addressBucket('2001:0db8:0000:0001:ffff:ffff:ffff:ffff')).toBe('2001:db8:0:1::/64');
    expect(addressBucket('2001:db8:0:2::1')).not.toBe(addressBucket('2001:db8:0:1::1'));
    expect(addressBucket(undefined)).toBe('unknown');
    expect(addressBucket('not an address')).toBe('unknown');
  });
});
