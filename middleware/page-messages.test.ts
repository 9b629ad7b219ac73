import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_LENGTH, pageMessage, pageMessages, setPageMessages } from './page-messages.ts';

// The consoles' own tests cover the flow through real pages (functions/console/error-pages.test.ts,
// functions/admin/admin.test.ts); this covers what they cannot reach: the production cookie.
function app(production: boolean, console: 'console' | 'admin' = 'console') {
  const app = new Hono();
  app.use(pageMessages(() => ({ console, production })));
  app.post('/act', (c) => {
    setPageMessages(c, { console, production }, { error: c.req.query('text') ?? '' });
    return c.redirect('/page', 303);
  });
  app.get('/page', (c) => c.json({ notice: pageMessage(c, 'notice') ?? null, error: pageMessage(c, 'error') ?? null }));
  return app;
}

const pair = (setCookie: string) => setCookie.split(';')[0]!;

describe('page messages', () => {
  it('travel in a __Host- cookie, Secure, in production', async () => {
    const served = app(true);
    const acted = await served.request('/act?text=Saved', { method: 'POST' });
    const [cookie] = acted.headers.getSetCookie();
    expect(cookie).toMatch(/^__Host-kommit-console-flash=[A-Za-z0-9_-]+; Max-Age=60; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const page = await served.request('/page', { headers: { cookie: pair(cookie!) } });
    expect(await page.json()).toEqual({ notice: null, error: 'Saved' });
    expect(page.headers.getSetCookie()).toEqual(['__Host-kommit-console-flash=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax']);
  });

  it('in production, read nothing from a cookie without the prefix: another subdomain could have set it', async () => {
    const plain = pair((await app(false).request('/act?text=Call+us', { method: 'POST' })).headers.getSetCookie()[0]!);
    expect(plain).toMatch(/^kommit-console-flash=/);
    const page = await app(true).request('/page', { headers: { cookie: plain } });
    expect(await page.json()).toEqual({ notice: null, error: null });
    expect(page.headers.getSetCookie()).toEqual([]);
  });

  it('are one line, cut to their longest length when set', async () => {
    const served = app(false);
    const shown = async (text: string) => {
      const acted = await served.request(`/act?text=${encodeURIComponent(text)}`, { method: 'POST' });
      const page = await served.request('/page', { headers: { cookie: pair(acted.headers.getSetCookie()[0]!) } });
      return (await page.json()).error;
    };
    expect(await shown('x'.repeat(MAX_MESSAGE_LENGTH + 100))).toBe('x'.repeat(MAX_MESSAGE_LENGTH));
    expect(await shown('one\ntwo\u0000')).toBe('one two ');
  });

  it('of one console never show on the other (in development both are on localhost, and cookies ignore the port)', async () => {
    const fromConsole = pair((await app(false, 'console').request('/act?text=Project+created', { method: 'POST' })).headers.getSetCookie()[0]!);
    const onAdmin = await app(false, 'admin').request('/page', { headers: { cookie: fromConsole } });
    expect(await onAdmin.json()).toEqual({ notice: null, error: null });
    // Not cleared either: it is still the organization console's to show.
    expect(onAdmin.headers.getSetCookie()).toEqual([]);
    const fromAdmin = pair((await app(false, 'admin').request('/act?text=Signed+out', { method: 'POST' })).headers.getSetCookie()[0]!);
    expect(fromAdmin).toMatch(/^kommit-admin-flash=/);
    expect(await (await app(false, 'console').request('/page', { headers: { cookie: fromAdmin } })).json()).toEqual({ notice: null, error: null });
  });

  it('set nothing when there is no message', async () => {
    expect((await app(false).request('/act', { method: 'POST' })).headers.getSetCookie()).toEqual([]);
  });
});
