/**
 * A delivery body read as JSON. The signature covers the bytes as sent, so the
 * body is verified and stored with a leading byte order mark if it had one;
 * only parsing skips it (RFC 8259 §8.1 lets a parser ignore it, and
 * JSON.parse would not).
 */
export function parseDeliveryJson(body: string): unknown {
  return JSON.parse(body.startsWith('\uFEFF') ? body.slice(1) : body);
}
