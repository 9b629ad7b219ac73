import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createTenant } from '../../../test/tenants.ts';
import { useTestServer } from '../../../test/use-server.ts';

const env = useTestServer();

async function widgetState(orgId: string) {
  return env.db.admin.withTenant(orgId, async (tx) => ({
    widgets: await tx.execute<{ id: string; greeting: string }>(sql`select id, greeting from widget_configs`),
    audits: await tx.execute<{ action: string; data: any }>(sql`select action, data from audit_log where target_type = 'widget' order by seq`),
  }));
}

// An organization has at most one widget (unique on org_id). Two first changes
// at once used to both find none and both insert: one hit the constraint (500).
describe('the first change of a widget, twice at once', () => {
  // A few organizations, so the two requests really overlap in at least one.
  const ROUNDS = 6;

  it('two PUTs: both succeed, one creates and the other changes what it created, each audited once', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const tenant = await createTenant(env.db, env.server, `Widget race ${round}`);
      const responses = await Promise.all(['First', 'Second'].map((greeting) => tenant.owner.request('PUT', '/v1/widget', { greeting })));
      expect(responses.map((r) => r.status), JSON.stringify(responses.map((r) => r.body))).toEqual([200, 200]);
      const { widgets, audits } = await widgetState(tenant.orgId);
      expect(widgets).toHaveLength(1);
      expect(audits.map((a) => a.action)).toEqual(['widget.update', 'widget.update']);
      // The first audited change created it; the second changed exactly that row.
      expect(audits[0]!.data.before).toBeNull();
      expect(audits[1]!.data.before).toEqual(audits[0]!.data.after);
      expect(widgets[0]!.greeting).toBe(audits[1]!.data.after.greeting);
    }
  });

  it('a PUT and a new identity secret: both succeed on the same widget, each audited once', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const tenant = await createTenant(env.db, env.server, `Secret race ${round}`);
      const [put, secret] = await Promise.all([
        tenant.owner.request('PUT', '/v1/widget', { greeting: 'Hello' }),
        tenant.owner.request('POST', '/v1/widget/identity-secret'),
      ]);
      expect([put.status, secret.status], JSON.stringify([put.body, secret.body])).toEqual([200, 200]);
      expect(put.body.publicKey).toBe(secret.body.publicKey);
      const { widgets, audits } = await widgetState(tenant.orgId);
      expect(widgets).toHaveLength(1);
      expect(audits.map((a) => a.action).sort()).toEqual(['widget.identity_secret_rotate', 'widget.update']);
    }
  });
});
