import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { emitAudit } from '../../../db/audit/emit.ts';
import { createApiKey, revokeApiKey } from '../../../db/operators.ts';
import { bulkChain } from '../../../test/bench/audit.ts';
import { createTenant, type TestTenant } from '../../../test/tenants.ts';
import { useTestServer } from '../../../test/use-server.ts';
import { uniqueEmail, UserAgent } from '../../../test/user-agent.ts';

// The export reads its rows in pages of 1000, each in a transaction of its own.
// These tests read the stream in-process (env.server.request), so no page is
// read before the test asks for it: a socket would let the server read ahead.

const env = useTestServer();
const ROWS = 2500;
let tenant: TestTenant;
beforeAll(async () => {
  tenant = await createTenant(env.db, env.server, 'Exporter');
  // Three pages' worth, so a page is still to be read after the first.
  await bulkChain(env.db, tenant.orgId, ROWS, () => {});
});

/** Reads a JSON Lines export, calling `meanwhile` after the first chunk; the seqs it got, and the error that ended it, if one did. */
async function readExport(response: Response, meanwhile: () => Promise<unknown> = async () => {}) {
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let aborted: unknown;
  try {
    for (let chunks = 0; ; chunks++) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (chunks === 0) await meanwhile();
    }
  } catch (error) {
    aborted = error;
  }
  const seqs = text.split('\n').filter(Boolean).map((line) => JSON.parse(line).seq as number);
  return { seqs, aborted };
}

/** A new user, a member of the tenant with it as the active organization. */
async function joinedMember(name: string) {
  const member = new UserAgent(env.server);
  const email = uniqueEmail(name);
  await member.signUp(email);
  const invitation = await tenant.owner.request('POST', '/api/auth/organization/invite-member', { email, role: 'member', organizationId: tenant.orgId });
  expect((await member.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invitation.body.id })).status).toBe(200);
  expect((await member.request('POST', '/api/auth/organization/set-active', { organizationId: tenant.orgId })).status).toBe(200);
  return { member, email };
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('GET /v1/audit-log/export when the caller loses access mid-export', () => {
  it('streams every page while the caller keeps access', async () => {
    const { seqs, aborted } = await readExport(await env.server.request('/v1/audit-log/export', { headers: tenant.headers }));
    expect(aborted).toBeUndefined();
    // organization.create, api_key.create, the bulk rows and this export's own row.
    expect(seqs).toEqual(upTo(ROWS + 3));
  });

  it('aborts after the page being read when the API key is revoked: no further page, and no clean end', async () => {
    const { seqs, aborted } = await readExport(await env.server.request('/v1/audit-log/export', { headers: tenant.headers }), () =>
      revokeApiKey(env.db.admin, tenant.orgId, tenant.keyId),
    );
    expect(aborted).toBeInstanceOf(Error);
    expect(seqs).toEqual(upTo(1000));
  });

  it('aborts after the page being read when the member signs out', async () => {
    const { member } = await joinedMember('signing-out');
    const cookie = member.cookieHeader();
    const exported = await env.server.request('/v1/audit-log/export', { headers: { cookie } });
    const { seqs, aborted } = await readExport(exported, async () => {
      expect((await member.request('POST', '/api/auth/sign-out', {})).status).toBe(200);
    });
    expect(aborted).toBeInstanceOf(Error);
    expect(seqs).toEqual(upTo(1000));
  });

  it('aborts after the page being read when the member is removed', async () => {
    const { member, email } = await joinedMember('leaving');
    const exported = await env.server.request('/v1/audit-log/export', { headers: { cookie: member.cookieHeader() } });
    const { seqs, aborted } = await readExport(exported, async () => {
      const removed = await tenant.owner.request('POST', '/api/auth/organization/remove-member', { memberIdOrEmail: email, organizationId: tenant.orgId });
      expect(removed.status).toBe(200);
    });
    expect(aborted).toBeInstanceOf(Error);
    expect(seqs).toEqual(upTo(1000));
  });
});

describe('GET /v1/audit-log/export of large rows', () => {
  it('reads a page of at most about 8 MB, however few rows that is, and still exports every row', async () => {
    const big = await createTenant(env.db, env.server, 'Big rows');
    // Twelve snapshots of 1.5 MB each (seq 3 to 14), after organization.create and api_key.create.
    for (let i = 0; i < 12; i++) {
      await env.db.app.withTenant(big.orgId, (tx) => emitAudit(tx, { orgId: big.orgId, actor: { type: 'system', id: 'test' } }, { action: 'article.update', data: { body: 'x'.repeat(1.5 * 1024 * 1024) } }));
    }
    const whole = await readExport(await env.server.request('/v1/audit-log/export', { headers: big.headers }));
    expect(whole).toEqual({ seqs: upTo(15), aborted: undefined });
    // A page is read only when the client asks for more: losing access after the first chunk shows where the first page ended.
    const { id: keyId, key } = await createApiKey(env.db.admin, big.orgId, 'second');
    const { seqs } = await readExport(await env.server.request('/v1/audit-log/export', { headers: { authorization: `Bearer ${key}` } }), () =>
      revokeApiKey(env.db.admin, big.orgId, keyId),
    );
    // Rows 3 to 8 start within the first 8 MB of data (the 6th at 7.5 MB); row 9 would start at 9 MB.
    expect(seqs).toEqual(upTo(8));
  });
});

describe('GET /v1/audit-log/export and its own row', () => {
  it('includes the row recording this export, even when it is the only one the filter matches', async () => {
    const fresh = await createTenant(env.db, env.server, 'First export');
    // Commits that take a while (as under load): the export's own row commits with the request's transaction.
    await env.db.admin.sql.unsafe(`
      create function kommit_test_slow_commit() returns trigger language plpgsql as $$ begin perform pg_sleep(0.2); return null; end $$;
      create constraint trigger slow_commit after insert on audit_log deferrable initially deferred for each row execute function kommit_test_slow_commit();`);
    onTestFinished(async () => {
      await env.db.admin.sql.unsafe('drop trigger slow_commit on audit_log; drop function kommit_test_slow_commit()');
    });
    for (let i = 0; i < 6; i++) {
      // By API key and by session, in turn.
      const headers = i % 2 ? fresh.headers : { cookie: fresh.owner.cookieHeader() };
      const response = await fetch(`${env.server.url}/v1/audit-log/export?action=audit.export`, { headers });
      const lines = (await response.text()).split('\n').filter(Boolean).map((line) => JSON.parse(line));
      expect(lines.map((l) => l.action)).toEqual(Array(i + 1).fill('audit.export'));
    }
  });
});
