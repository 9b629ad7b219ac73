/**
 * Every connection's session time zone, whatever the server's or database's
 * default: timestamps then come out with the offset rfc3339 expects.
 */
export const SESSION_TIME_ZONE = 'UTC';

/** The timestamptz type's oid: its text is what rfc3339 rewrites. */
export const TIMESTAMPTZ_OID = 1184;

/**
 * A timestamptz as Postgres prints it in a UTC session ('2026-11-26
 * 08:00:00.123456+00') rewritten as RFC 3339 ('2026-11-26T08:00:00.123456Z'),
 * the form API clients and Date.parse expect, microseconds kept. Anything else
 * (infinity, a time BC) is returned as sent.
 */
export function rfc3339(text: string): string {
  if (!text.endsWith('+00')) return text;
  const space = text.indexOf(' ');
  return space < 0 ? text : `${text.slice(0, space)}T${text.slice(space + 1, -3)}Z`;
}
