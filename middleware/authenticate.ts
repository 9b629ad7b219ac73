import type { MiddlewareHandler } from 'hono';
import { hashApiKey, looksLikeApiKey } from '../auth/api-keys.ts';
import { ApiError } from './errors.ts';
import type { AppEnv } from './env.ts';

const CHALLENGE = { 'www-authenticate': 'Bearer realm="kommit"' };

/**
 * Resolves the credential to a principal and its organization. For now the only
 * credential is an organization-bound API key (Authorization: Bearer km_...);
 * the organization comes from the key, never from anything else the client sends.
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function authenticate(c, next) {
    const header = c.req.header('authorization') ?? '';
    const [scheme, token] = header.split(' ', 2);
    if (!header) throw new ApiError('unauthorized', 'Send an API key as "Authorization: Bearer km_...".', undefined, CHALLENGE);
    if (scheme?.toLowerCase() !== 'bearer' || !token || !looksLikeApiKey(token)) {
      throw new ApiError('unauthorized', 'The Authorization header does not carry a Kommit API key.', undefined, CHALLENGE);
    }
    const { sql } = c.get('platform').database;
    const [key] = await sql<{ org_id: string; key_id: string }[]>`
      select org_id, key_id from kommit_resolve_api_key(${hashApiKey(token)})`;
    if (!key) throw new ApiError('unauthorized', 'The API key is not valid or was revoked.', undefined, CHALLENGE);
    c.set('principal', { kind: 'api_key', id: key.key_id });
    c.set('org', { id: key.org_id });
    await next();
  };
}
