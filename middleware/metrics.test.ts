import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../test/server.ts';
import { createTenant } from '../test/tenants.ts';
import { useTestServer } from '../test/use-server.ts';
import { UserAgent, uniqueEmail } from '../test/user-agent.ts';

const env = useTestServer({ config: { metricsToken: 'scrape-token' } });

describe('/metrics', () => {
  it('does not exist without a configured token, and answers 404 to a wrong one', async () => {
    const unconfigured = await startTestServer(env.db);
    try {
      const response = await fetch(`${unconfigured.url}/metrics`, { headers: { authorization: 'Bearer scrape-token' } });
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
    } finally {
      await unconfigured.close();
    }
    expect((await fetch(`${env.server.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${env.server.url}/metrics`, { headers: { authorization: 'Bearer scrape-tokem' } })).status).toBe(404);
  });

  it('counts requests by function, route pattern and status, audit appends, and pool use', async () => {
    const tenant = await createTenant(env.db, env.server, 'Measured');
    const project = (await tenant.owner.request('POST', '/v1/projects', { name: 'measured' })).body.id;
    await tenant.owner.request('GET', `/v1/projects/${project}`);
    await tenant.owner.request('GET', `/v1/projects/00000000-0000-4000-8000-000000000000`);
    const response = await fetch(`${env.server.url}/metrics`, { headers: { authorization: 'Bearer scrape-token' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/kommit_http_request_duration_seconds_count\{function="projects",route="\/v1\/projects\/:id",method="GET",status="200"\} 1\n/);
    expect(text).toMatch(/kommit_http_request_duration_seconds_count\{function="projects",route="\/v1\/projects\/:id",method="GET",status="404"\} 1\n/);
    expect(text).toMatch(/kommit_http_request_duration_seconds_bucket\{le="0.1",function="projects",route="\/v1\/projects",method="POST",status="201"\} \d/);
    expect(text).not.toContain(project);
    expect(Number(text.match(/^kommit_audit_appends_total (\d+)$/m)?.[1])).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/kommit_db_transactions\{pool="app",state="capacity"\} \d+/);
    expect(text).toContain('kommit_process_resident_memory_bytes');
  });

  it('counts only audit appends that committed, also of Better Auth changes that append more than one row', async () => {
    const appends = async () => {
      const text = await (await fetch(`${env.server.url}/metrics`, { headers: { authorization: 'Bearer scrape-token' } })).text();
      return Number(text.match(/^kommit_audit_appends_total (\d+)$/m)?.[1]);
    };
    // A member of two organizations: deleting the account appends a member.remove row to each, in organization id order.
    const tenants = (await Promise.all([createTenant(env.db, env.server, 'Counted A'), createTenant(env.db, env.server, 'Counted B')])).sort((a, b) => a.orgId.localeCompare(b.orgId));
    const member = new UserAgent(env.server);
    const email = uniqueEmail('counted');
    await member.signUp(email);
    for (const tenant of tenants) {
      const invite = await tenant.owner.request('POST', '/api/auth/organization/invite-member', { email, role: 'member', organizationId: tenant.orgId });
      expect((await member.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invite.body.id })).status).toBe(200);
    }
    // The second organization's head set back one: its append claims a taken seq after the first one's append went through.
    const second = tenants[1]!.orgId;
    const moveHead = (by: number) => env.db.admin.withTenant(second, (tx) => tx.execute(sql`update audit_chain_heads set seq = seq + ${by} where org_id = ${second}`));
    const before = await appends();
    await moveHead(-1);
    expect((await member.request('POST', '/api/auth/delete-user', { password: 'correct horse battery' })).status).toBe(500);
    expect(await appends()).toBe(before);
    await moveHead(1);
    expect((await member.request('POST', '/api/auth/delete-user', { password: 'correct horse battery' })).status).toBe(200);
    expect(await appends()).toBe(before + 2);
  });
});
