import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../test/browser.ts';
import { runJobs } from '../../test/jobs.ts';
import { createTenant, type TestTenant } from '../../test/tenants.ts';
import { useTestServer } from '../../test/use-server.ts';

// A customer's site is another origin than Kommit: each host page below is a
// tiny server of its own on another port (and host name), embedding the
// widget with the one <script> tag the console hands out.
const env = useTestServer();
let browser: Browser;
let tenant: TestTenant;
let allowed: { server: Server; origin: string };
let refused: { server: Server; origin: string };

async function hostPage(embed: () => string) {
  const server = createServer((request, response) => {
    if (request.url !== '/') return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><html><head><title>Shop</title></head><body><h1>Our shop</h1>${embed()}</body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://localhost:${(server.address() as AddressInfo).port}` };
}

let embed = '';
beforeAll(async () => {
  browser = await launchBrowser();
  tenant = await createTenant(env.db, env.server, 'Shop');
  await tenant.owner.request('POST', '/v1/helpdesk/articles', {
    title: 'Returning an order',
    body: '## How to return\n\nYou can return an order within 30 days from the orders page. We refund the full price.',
    published: true,
  });
  await runJobs(env.db);
  allowed = await hostPage(() => embed);
  refused = await hostPage(() => embed);
  const widget = (await tenant.owner.request('PUT', '/v1/widget', { allowedOrigins: [allowed.origin], accentColor: '#aa3300' })).body;
  // The tag exactly as the API hands it out.
  embed = widget.embed;
  expect(embed).toContain(`${env.server.url}/widget.js`);
});

afterAll(async () => {
  await browser?.close();
  for (const host of [allowed, refused]) await new Promise((resolve) => host?.server.close(resolve));
});

describe('the widget in a real browser', () => {
  it('opens from the keyboard, streams a cited answer, and shows the conversation again after a reload', { timeout: 60_000 }, async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(allowed.origin);
    // Keyboard only: Tab reaches the launcher, Enter opens the panel and puts the cursor in the question box.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#kommit-panel').isVisible()).toBe(true);
    await page.keyboard.type('How do I return an order?');
    await page.keyboard.press('Enter');
    const answer = page.locator('li.assistant', { hasText: 'within 30 days' });
    await answer.waitFor({ timeout: 15_000 });
    const link = answer.locator('.sources a');
    await link.waitFor();
    expect(await link.textContent()).toBe('[1] Returning an order');
    expect(await link.getAttribute('href')).toContain(`${env.server.url}/widget/v1/articles/returning-an-order?key=`);

    // The conversation is stored in the organization's transcripts...
    const transcripts = (await tenant.owner.request('GET', '/v1/support-transcripts?channel=widget')).body.data;
    expect(transcripts).toHaveLength(1);
    // ...and survives a reload in the browser.
    await page.reload();
    await page.locator('.launcher').click();
    await page.locator('li.visitor', { hasText: 'How do I return an order?' }).waitFor();
    await page.locator('li.assistant .sources a', { hasText: 'Returning an order' }).waitFor();

    // A second question continues the same conversation.
    await page.locator('textarea').fill('Can I pay with bitcoin?');
    await page.keyboard.press('Enter');
    await page.locator('li.assistant', { hasText: "don't cover this question" }).waitFor({ timeout: 15_000 });
    const [only] = (await tenant.owner.request('GET', '/v1/support-transcripts?channel=widget')).body.data;
    expect((await tenant.owner.request('GET', `/v1/support-transcripts/${only.id}`)).body.messages).toHaveLength(4);

    // Escape closes the panel and gives focus back to the launcher.
    await page.locator('textarea').focus();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#kommit-panel').isVisible()).toBe(false);
  });

  it('refuses to work on a site whose origin is not allowed', { timeout: 60_000 }, async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(refused.origin);
    await page.locator('.launcher').click();
    await page.locator('li.notice', { hasText: 'not available on this site' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('textarea').isDisabled()).toBe(true);
    expect((await tenant.owner.request('GET', '/v1/support-transcripts?channel=widget')).body.data).toHaveLength(1);
  });
});
