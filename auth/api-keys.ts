import { createHash, randomBytes } from 'node:crypto';

/**
 * Organization-bound API keys: `km_` + 32 random bytes (base64url). The secret
 * has 256 bits of entropy, so a fast SHA-256 is the right storage hash: there is
 * nothing to brute-force, and lookups stay one index probe.
 */
export const API_KEY_PREFIX = 'km_';
const KEY_SHAPE = /^km_[A-Za-z0-9_-]{43}$/;

export function generateApiKey() {
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, prefix: key.slice(0, 10), hash: hashApiKey(key) };
}

export function hashApiKey(key: string) {
  return createHash('sha256').update(key).digest();
}

export function looksLikeApiKey(value: string) {
  return KEY_SHAPE.test(value);
}
