import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Visitor tokens: what a widget on a customer's page holds after starting a
 * conversation. Signed with the server's token key (HMAC-SHA256), they bind
 * the organization, the widget key, the visitor, the conversation and an
 * expiry together, so none of them can be swapped for another's.
 * Format: `vt1.<base64url JSON claims>.<base64url MAC>`.
 */
export const visitorClaims = z.object({
  /** organization */
  o: z.uuid(),
  /** the widget's public key */
  k: z.string().min(1).max(100),
  /** visitor id */
  v: z.string().min(1).max(200),
  /** identity verified by the organization's own server */
  vv: z.boolean(),
  /** conversation (support transcript) id */
  c: z.uuid(),
  /** expiry, Unix seconds */
  exp: z.number().int(),
});

export type VisitorClaims = z.infer<typeof visitorClaims>;

const mac = (key: Buffer, payload: string) => createHmac('sha256', key).update(`vt1.${payload}`).digest();

export function signVisitorToken(key: Buffer, claims: VisitorClaims) {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `vt1.${payload}.${mac(key, payload).toString('base64url')}`;
}

/** The claims of a genuine, unexpired token; null for anything else (one answer for every failure). */
export function verifyVisitorToken(key: Buffer, token: string, now = Date.now()): VisitorClaims | null {
  const [version, payload, signature, extra] = token.split('.');
  if (version !== 'vt1' || !payload || !signature || extra !== undefined) return null;
  const expected = mac(key, payload);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let claims: VisitorClaims;
  try {
    claims = visitorClaims.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  } catch {
    return null;
  }
  return claims.exp * 1000 > now ? claims : null;
}

/**
 * What a customer's server sends along to mark a visitor as verified:
 * hex HMAC-SHA256 of the visitor's id under the organization's
 * identity-verification secret (the same scheme as common chat widgets).
 */
export function identitySignature(secret: string, visitorId: string) {
  return createHmac('sha256', secret).update(visitorId).digest('hex');
}

export function identityVerifies(secret: string, visitorId: string, signature: string) {
  const expected = Buffer.from(identitySignature(secret, visitorId), 'hex');
  const given = /^[0-9a-f]{64}$/i.test(signature) ? Buffer.from(signature, 'hex') : Buffer.alloc(0);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
