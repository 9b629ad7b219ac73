import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setOperator } from '../../db/admin/grants.ts';
import { startAdminServer, totp } from '../../test/admin.ts';
import { launchBrowser } from '../../test/browser.ts';
import { createTenant, type TestTenant } from '../../test/tenants.ts';
import { useTestServer } from '../../test/use-server.ts';
import { uniqueEmail, UserAgent } from '../../test/user-agent.ts';

const PASSWORD = 'correct horse battery';
const env = useTestServer();
let admin: Awaited<ReturnType<typeof startAdminServer>>;
let browser: Browser;
let acme: TestTenant;
let eventId: string;

beforeAll(async () => {
  admin = await startAdminServer(env.db);
  browser = await launchBrowser();
  acme = await createTenant(env.db, env.server, 'Acme');
  const project = await acme.owner.request('POST', '/v1/projects', { name: 'Pricing' });
  const event = await acme.owner.request('POST', '/v1/decision-events', { projectId: project.body.id, kind: 'decision', title: 'Raise prices in March', rationale: 'Costs went up' });
  eventId = event.body.id;
});
afterAll(async () => {
  await browser?.close();
  await admin?.close();
});

async function signIn(page: Page, email: string) {
  await page.goto(`${admin.url}/admin`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
}

describe('the admin console in a browser', () => {
  it('an operator sets up TOTP, signs in with it, and works through the pages', async () => {
    const email = uniqueEmail('operator');
    await new UserAgent(env.server).signUp(email);
    const { setupToken } = await setOperator(env.db.admin, email, true, { grantedBy: 'admin:grant by test' });
    const page = await (await browser.newContext()).newPage();

    // First sign-in: only setting up the second factor is open.
    await signIn(page, email);
    await expect.poll(() => page.url()).toContain('/admin/two-factor/setup');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Set-up code').fill(setupToken!);
    await page.getByRole('button', { name: 'Create authenticator secret' }).click();
    const secret = (await page.getByTestId('totp-secret').textContent())!;
    await page.getByLabel('Code').fill(totp(secret));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Two-factor sign-in is on');

    // Organizations, then one of them: metadata only.
    const acmeRow = page.locator(`tr[data-org="${acme.orgId}"]`);
    expect(await acmeRow.getByTestId('members').textContent()).toBe('1');
    await acmeRow.getByRole('link').click();
    expect(await page.getByTestId('usage').textContent()).toContain('decision_events');
    expect(await page.content()).not.toContain('Raise prices in March');

    // Reading content takes a reason.
    const row = page.locator('tr', { hasText: eventId });
    await row.getByPlaceholder(/Reason/).fill('Ticket 99: the customer asked');
    await row.getByRole('button', { name: 'Read' }).click();
    expect(await page.getByTestId('tenant-content').textContent()).toContain('Raise prices in March');

    // Verify the organization's chain on demand.
    await page.goBack();
    await page.getByRole('button', { name: 'Verify audit chain' }).click();
    expect(await page.getByTestId('chain-status').textContent()).toMatch(/^Verified: \d+ rows/);

    // The other pages, and the platform chain with this operator's actions.
    for (const [link, testId] of [['Jobs', 'job-counts'], ['Webhook failures', 'webhook-failures'], ['Deletions', 'deletions'], ['Audit chains', 'chains']] as const) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.getByTestId(testId).waitFor();
    }
    await page.getByRole('link', { name: 'Verify the platform chain' }).click();
    expect(await page.getByTestId('platform-chain-status').textContent()).toMatch(/^Verified: \d+ rows/);
    expect(await page.getByTestId('platform-chain').textContent()).toContain('Ticket 99: the customer asked');

    // Signing in again takes the authenticator code as well.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, email);
    await expect.poll(() => page.url()).toMatch(/\/admin\/two-factor$/);
    await page.getByLabel(/Code from your authenticator app/).fill(totp(secret));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('organizations').waitFor();
  });

  it('a user who is not an operator is told so', async () => {
    const email = uniqueEmail('customer');
    await new UserAgent(env.server).signUp(email);
    const page = await (await browser.newContext()).newPage();
    await signIn(page, email);
    expect(await page.getByRole('alert').textContent()).toContain('not a platform operator');
  });
});
