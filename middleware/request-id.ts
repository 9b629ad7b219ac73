import type { MiddlewareHandler } from 'hono';

/**
 * Gives every request an id of our own, sent back as X-Request-Id for the
 * client to quote. Unlike hono/request-id it never takes the client's
 * X-Request-Id: the id is the audit row's request_id and a problem's
 * instance, and one a client could choose would let its requests pass for
 * another's. Taking it from a trusted proxy instead would not help: Traefik
 * passes a client's X-Request-Id on as it came, and a worker has no proxy
 * address to trust.
 */
export function requestId(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async function requestId(c, next) {
    const id = crypto.randomUUID();
    c.set('requestId', id);
    c.header('X-Request-Id', id);
    await next();
  };
}
