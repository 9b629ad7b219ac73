import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { CookieOptions } from 'hono/utils/cookie';

/*
 * The one-line message a console page shows after our own redirect: back()
 * leaves it in a one-time cookie (HttpOnly, SameSite=Lax, a minute long) for
 * the page it redirects to, which shows it and clears it. Never from the
 * address: anyone can write a link (in an email, a chat) to our sign-in page
 * with their own words in it, and our alert box would show them. In
 * production the cookie is __Host-: only this host, over HTTPS, can set it, so
 * no sibling subdomain can put text there either.
 */

/** What back() passes on to the next page: a notice, an error, or (rarely) both. */
export type PageMessages = { notice?: string; error?: string };
type Kind = keyof PageMessages;

/**
 * Our messages are one line; a longer one is cut. At 3 bytes a character at
 * most (control characters become spaces, a split surrogate pair U+FFFD), both
 * kinds at once stay below browsers' 4 KB a cookie.
 */
export const MAX_MESSAGE_LENGTH = 500;
/** Longer than any value setPageMessages writes: not ours. */
const MAX_VALUE_LENGTH = 4096;
const MAX_AGE_SECONDS = 60;

/**
 * Which console's messages: each has a cookie of its own. In development both
 * are served from localhost (on their own ports, which cookies do not tell
 * apart), and an operator's message must not turn up in the organization
 * console, or the other way round. `production` makes it __Host- and Secure.
 */
export interface FlashScope {
  console: 'console' | 'admin';
  production: boolean;
}

function flashCookie({ console, production }: FlashScope): { name: string; options: CookieOptions } {
  return {
    name: `${production ? '__Host-' : ''}kommit-${console}-flash`,
    options: { path: '/', httpOnly: true, secure: production, sameSite: 'Lax' },
  };
}

/** Leaves messages for the next page this browser opens (back() redirects to it). */
export function setPageMessages(c: Context, scope: FlashScope, messages: PageMessages) {
  const kept: PageMessages = {};
  for (const kind of ['notice', 'error'] as const) {
    const text = messages[kind]?.slice(0, MAX_MESSAGE_LENGTH).toWellFormed().replace(/[\u0000-\u001f\u007f]/g, ' ');
    if (text) kept[kind] = text;
  }
  if (!kept.notice && !kept.error) return;
  const { name, options } = flashCookie(scope);
  setCookie(c, name, Buffer.from(JSON.stringify(kept)).toString('base64url'), { ...options, maxAge: MAX_AGE_SECONDS });
}

/** What a cookie value says, if it is one setPageMessages wrote; anything else says nothing. */
function readFlash(value: string): PageMessages {
  if (value.length > MAX_VALUE_LENGTH || !/^[A-Za-z0-9_-]+$/.test(value)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  const entries = Object.entries(parsed);
  const valid = entries.length > 0 && entries.every(([kind, text]) => (kind === 'notice' || kind === 'error') && typeof text === 'string' && text.length > 0 && text.length <= MAX_MESSAGE_LENGTH);
  return valid ? (parsed as PageMessages) : {};
}

interface Flash {
  scope: FlashScope;
  /** Once a page asked: what the cookie held (it is cleared then, whatever it held). */
  taken?: PageMessages;
}

const FLASH = 'pageMessages';

/** Lets a console's pages read their messages (pageMessage), from the cookie its back() sets. */
export function pageMessages<E extends { Variables: object }>(scope: (c: Context<E>) => FlashScope): MiddlewareHandler<E> {
  return async function pageMessages(c, next) {
    (c as Context).set(FLASH, { scope: scope(c) } satisfies Flash);
    await next();
  };
}

/**
 * This page's message of the kind, from the cookie back() left. The first call
 * in a request takes the cookie and clears it, so the message shows once and a
 * page reading both kinds clears it once; a value that is not ours (garbage,
 * too long) shows nothing and is cleared too.
 */
export function pageMessage(c: Context, kind: Kind): string | undefined {
  const flash = c.get(FLASH) as Flash | undefined;
  if (!flash) throw new Error('pageMessage: the route has no pageMessages() middleware');
  if (!flash.taken) {
    const { name, options } = flashCookie(flash.scope);
    const value = getCookie(c, name);
    // getCookie skips a value with characters a cookie may not hold: a cookie by that name is there all the same.
    const present = value !== undefined || new RegExp(`(?:^|;)\\s*${name}=`).test(c.req.header('cookie') ?? '');
    flash.taken = value === undefined ? {} : readFlash(value);
    if (present) deleteCookie(c, name, options);
  }
  return flash.taken[kind];
}
