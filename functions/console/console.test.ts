import type { Browser, Page } from 'playwright-core';
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../test/browser.ts';
import { createTestDatabase, type TestDatabase } from '../../test/database.ts';
import { startTestServer, type TestServer } from '../../test/server.ts';

let db: TestDatabase;
let server: TestServer;
let browser: Browser;
beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.close();
});

const PASSWORD = 'correct horse battery';

async function signUp(page: Page, name: string, email: string) {
  await page.goto(`${server.url}/console/sign-up`);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/\/console(\?|$)/);
}

async function createOrganization(page: Page, name: string) {
  await page.goto(`${server.url}/console`);
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.waitForURL(/\/console\/projects/);
  expect(await page.getByTestId('active-org').textContent()).toBe(name);
}

async function createProject(page: Page, name: string) {
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.waitForURL(/\/console\/projects/);
}

async function switchTo(page: Page, orgName: string) {
  await page.goto(`${server.url}/console`);
  await page.getByLabel('Organization').selectOption({ label: `${orgName} (owner)` });
  await page.getByRole('button', { name: 'Switch' }).click();
  await page.waitForURL(/\/console\/projects/);
}

const projectNames = async (page: Page) => (await page.getByTestId('projects').locator('tr td:first-child').allTextContents()).sort();

describe('the console in a real browser', () => {
  it('signs up, creates two organizations, switches between them and shows each one’s projects only', async () => {
    const page = await (await browser.newContext()).newPage();
    await signUp(page, 'Alice', `alice-${Date.now()}@example.test`);
    await createOrganization(page, 'Alpha');
    await createProject(page, 'alpha plan');
    await createOrganization(page, 'Beta');
    expect(await projectNames(page)).toEqual(['No projects yet.']);
    await createProject(page, 'beta plan');

    await switchTo(page, 'Alpha');
    expect(await page.getByTestId('active-org').textContent()).toBe('Alpha');
    expect(await projectNames(page)).toEqual(['alpha plan']);
    await switchTo(page, 'Beta');
    expect(await projectNames(page)).toEqual(['beta plan']);
  });

  it('invites a second user who accepts, sees the projects, and loses access the moment they are removed', async () => {
    const alice = await (await browser.newContext()).newPage();
    await signUp(alice, 'Alice', `alice2-${Date.now()}@example.test`);
    await createOrganization(alice, 'Gamma');
    await createProject(alice, 'gamma launch');

    const bobEmail = `bob-${Date.now()}@example.test`;
    await alice.goto(`${server.url}/console/members`);
    await alice.getByLabel('Email').fill(bobEmail);
    await alice.getByRole('button', { name: 'Invite' }).click();
    await alice.waitForURL(/\/console\/members/);
    const link = (await alice.getByTestId('invitations').locator('code').textContent())!;
    expect(link).toMatch(/\/console\/invitations\/[0-9a-f-]{36}$/);

    const bob = await (await browser.newContext()).newPage();
    await signUp(bob, 'Bob', bobEmail);
    await bob.goto(link);
    await bob.getByRole('button', { name: 'Accept invitation' }).click();
    await bob.waitForURL(/\/console\/projects/);
    expect(await bob.getByTestId('active-org').textContent()).toBe('Gamma');
    expect(await projectNames(bob)).toEqual(['gamma launch']);

    await alice.goto(`${server.url}/console/members`);
    await alice.getByRole('button', { name: `Remove ${bobEmail}` }).click();
    // The same address again: the notice says the redirect's page has loaded.
    await alice.getByRole('status').filter({ hasText: 'Member removed.' }).waitFor();
    expect(await alice.getByTestId('members').textContent()).not.toContain(bobEmail);

    await bob.goto(`${server.url}/console/projects`);
    await bob.waitForURL(/\/console(\?|$)/);
    expect(await bob.getByRole('alert').textContent()).toMatch(/not a member/);
    expect(await bob.content()).not.toContain('gamma launch');
  });

  it('lists controls failing first and shows a control’s evidence history as collections flip it', async () => {
    const page = await (await browser.newContext()).newPage();
    await signUp(page, 'Controller', `controller-${Date.now()}@example.test`);
    await createOrganization(page, 'Controlled Org');
    // Adopting and making a key go through the API with the same session.
    const headers = { origin: server.url };
    expect((await page.request.post(`${server.url}/v1/controls/frameworks`, { headers, data: { framework: 'soc2', version: '2017-tsc-rev2022' } })).status()).toBe(201);
    const key = await (await page.request.post(`${server.url}/v1/api-keys`, { headers, data: { name: 'ci' } })).json();
    await page.getByRole('link', { name: 'Controls' }).click();
    await page.waitForURL(/\/console\/controls/);
    expect(await page.getByTestId('controls-counts').textContent()).toMatch(/^0 failing, 0 passing, 5 without evidence/);

    await page.getByRole('button', { name: 'Collect CC6.1' }).click();
    await page.getByRole('status').filter({ hasText: 'Collected CC6.1' }).waitFor();
    expect(await page.getByRole('status').textContent()).toContain('Collected CC6.1: pass');
    expect(await page.getByTestId('history').locator('tr td:nth-child(3)').allTextContents()).toEqual(['pass']);

    const { activeOrganizationId } = await (await page.request.get(`${server.url}/v1/session`)).json();
    await db.admin.withTenant(activeOrganizationId, (tx) => tx.execute(sql`update api_keys set created_at = now() - interval '1 year' where id = ${key.id}`));
    await page.getByRole('button', { name: 'Collect CC6.1' }).click();
    await page.getByRole('status').filter({ hasText: 'Collected CC6.1: fail' }).waitFor();
    expect(await page.getByTestId('history').locator('tr td:nth-child(3)').allTextContents()).toEqual(['fail', 'pass']);
    const first = page.getByTestId('controls').locator('tr').first();
    expect(await first.getAttribute('data-state')).toBe('failing');
    expect(await first.textContent()).toContain('CC6.1');
    expect(await page.getByTestId('controls-counts').textContent()).toMatch(/^1 failing/);
  });

  it('shows the audit log: verified chain, latest checkpoint, filters and a working export', async () => {
    const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
    await signUp(page, 'Auditor', `auditor-${Date.now()}@example.test`);
    await createOrganization(page, 'Audited Org');
    await createProject(page, 'first audited');
    await createProject(page, 'second audited');
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.waitForURL(/\/console\/audit/);
    expect(await page.getByTestId('chain-status').textContent()).toMatch(/^Verified: 3 rows, head at seq 3\./);
    expect(await page.getByTestId('checkpoint').textContent()).toMatch(/^kommit\/audit\/[0-9a-f-]{36}\n1\n/);
    const actions = await page.getByTestId('audit-rows').locator('tr td:nth-child(4)').allTextContents();
    expect(actions).toEqual(['project.create', 'project.create', 'organization.create']);

    await page.getByLabel('Action').fill('organization.create');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=organization.create/);
    expect(await page.getByTestId('audit-rows').locator('tr').count()).toBe(1);
    // Filtering does not recompute the whole chain each time.
    expect(await page.getByTestId('chain-status').textContent()).toBe('Checked on the unfiltered page.');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'JSON Lines' }).click()]);
    const text = await (await import('node:fs/promises')).readFile((await download.path())!, 'utf8');
    // The download keeps the page's filter; the export itself is recorded in the log.
    expect(text.trim().split('\n').map((line) => JSON.parse(line).action)).toEqual(['organization.create']);
    await page.goto(`${server.url}/console/audit`);
    expect(await page.getByTestId('audit-rows').locator('tr td:nth-child(4)').first().textContent()).toBe('audit.export');
  });

  it('creates a webhook endpoint, shows its secret once, lists its deliveries and rotates the secret', async () => {
    const page = await (await browser.newContext()).newPage();
    await signUp(page, 'Hooker', `hooks-${Date.now()}@example.test`);
    await createOrganization(page, 'Hooked Org');
    await createProject(page, 'crm');
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.waitForURL(/\/console\/webhooks/);
    await page.getByLabel('Name').fill('Deals');
    await page.getByLabel('Deliveries become').selectOption('raw_event');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    const secret = (await page.getByTestId('secret-value').textContent())!;
    expect(secret).toMatch(/^whsec_/);
    await page.goto(`${server.url}/console/webhooks`);
    expect(await page.getByTestId('secret').count()).toBe(0);
    expect(await page.content()).not.toContain(secret);

    const url = (await page.getByTestId('endpoints').locator('code').first().textContent())!;
    const at = new Date();
    const delivered = await fetch(`${server.url}${url}`, {
      method: 'POST',
      headers: { 'webhook-id': 'msg_console', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign('msg_console', at, '{"ok":true}') },
      body: '{"ok":true}',
    });
    expect(delivered.status).toBe(202);
    await page.getByRole('link', { name: 'Deals' }).click();
    await page.waitForURL(/endpoint=/);
    expect(await page.getByTestId('deliveries').locator('tr td:first-child').allTextContents()).toEqual(['msg_console']);

    await page.getByRole('button', { name: 'Rotate secret of Deals' }).click();
    const rotated = (await page.getByTestId('secret-value').textContent())!;
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    // A second rotation during the first one's overlap would cut off a secret still in use: refused, with until when.
    await page.getByRole('button', { name: 'Rotate secret of Deals' }).click();
    expect(await page.getByRole('alert').textContent()).toMatch(/still verifies until \d{4}-/);
    expect(await page.getByTestId('secret').count()).toBe(0);
  });

  it('shows a wrong password as an error on the sign-in page', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/console/sign-in`);
    await page.getByLabel('Email').fill('nobody@example.test');
    await page.getByLabel('Password').fill('wrong password 123');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(page.url()).toBe(`${server.url}/console/sign-in`);
    expect(await page.getByRole('alert').textContent()).toMatch(/invalid/i);
    // Shown once: the flash cookie went with that page.
    await page.reload();
    expect(await page.getByRole('alert').count()).toBe(0);
  });
});
