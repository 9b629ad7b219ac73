import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTenant, type TestTenant } from '../../../test/tenants.ts';
import { useTestServer } from '../../../test/use-server.ts';
import { uniqueEmail, UserAgent } from '../../../test/user-agent.ts';

const env = useTestServer();
let acme: TestTenant;
let globex: TestTenant;
beforeAll(async () => {
  acme = await createTenant(env.db, env.server, 'Acme');
  globex = await createTenant(env.db, env.server, 'Globex');
});

/** A user who joins the tenant's organization with this role, signed in with it active. */
async function joinAs(tenant: TestTenant, role: 'member' | 'admin') {
  const agent = new UserAgent(env.server);
  const email = uniqueEmail(role);
  const user = await agent.signUp(email);
  const invitation = await tenant.owner.request('POST', '/api/auth/organization/invite-member', { email, role, organizationId: tenant.orgId });
  expect(invitation.status).toBe(200);
  expect((await agent.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invitation.body.id })).status).toBe(200);
  expect((await agent.request('POST', '/api/auth/organization/set-active', { organizationId: tenant.orgId })).status).toBe(200);
  return { agent, userId: user.id };
}

async function importTranscript(tenant: TestTenant, extra: Record<string, unknown> = {}) {
  const response = await tenant.owner.request('POST', '/v1/support-transcripts', { channel: 'chat', messages: [{ role: 'visitor', content: 'Hello?' }, { role: 'agent', content: 'Hi.' }], ...extra });
  expect(response.status).toBe(201);
  return response.body.id as string;
}

describe('support transcripts', () => {
  it('import, list, read in order with citations, and delete with their messages', async () => {
    const imported = await acme.owner.request('POST', '/v1/support-transcripts', {
      channel: 'widget',
      visitorRef: 'visitor-7',
      rating: 4,
      messages: [
        { role: 'visitor', content: 'How do I export the audit log?', sentAt: '2026-11-20T10:00:00Z' },
        { role: 'assistant', content: 'Use the Audit page.', citations: [{ title: 'Audit log', url: '/help/audit' }, { title: 'Guide', url: 'https://help.example.com/audit?x=1#y' }] },
      ],
    });
    expect(imported.status).toBe(201);
    const id = imported.body.id;
    const read = await acme.owner.request('GET', `/v1/support-transcripts/${id}`);
    expect(read.body).toMatchObject({ channel: 'widget', visitorRef: 'visitor-7', rating: 4 });
    expect(read.body.messages.map((m: { role: string }) => m.role)).toEqual(['visitor', 'assistant']);
    expect(read.body.messages[1].citations).toEqual([{ title: 'Audit log', url: '/help/audit' }, { title: 'Guide', url: 'https://help.example.com/audit?x=1#y' }]);
    expect(read.body.messages[0].sentAt).toBe('2026-11-20T10:00:00Z');

    expect((await acme.owner.request('GET', '/v1/support-transcripts?channel=widget')).body.data.map((t: { id: string }) => t.id)).toEqual([id]);
    expect((await acme.owner.request('DELETE', `/v1/support-transcripts/${id}`)).status).toBe(204);
    expect((await acme.owner.request('GET', `/v1/support-transcripts/${id}`)).status).toBe(404);
  });

  it('refuse a sentAt whose instant falls outside the years 0001-9999 (it would read back as no RFC 3339 time), and store nothing', async () => {
    for (const sentAt of ['9999-12-31T23:59:59-14:00', '9999-12-31T23:59:59.9999999Z', '0001-01-01T00:00:00+01:00']) {
      const response = await acme.owner.request('POST', '/v1/support-transcripts', { messages: [{ role: 'visitor', content: 'when?', sentAt }] });
      expect(response.status, `${sentAt}: ${response.text}`).toBe(400);
      expect(response.body.errors.map((e: { path: string }) => e.path)).toEqual(['json.messages.0.sentAt']);
    }
    // The edges themselves are fine, and read back as sent.
    const edges = await acme.owner.request('POST', '/v1/support-transcripts', {
      messages: [
        { role: 'visitor', content: 'first', sentAt: '0001-01-01T00:00:00Z' },
        { role: 'agent', content: 'last', sentAt: '9999-12-31T23:59:59.998Z' },
      ],
    });
    expect(edges.status).toBe(201);
    expect(edges.body.messages.map((m: { sentAt: string }) => m.sentAt)).toEqual(['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.998Z']);
    expect((await acme.owner.request('DELETE', `/v1/support-transcripts/${edges.body.id}`)).status).toBe(204);
  });

  it('refuse bad input with 400 (422 when only too long or too many) and store nothing', async () => {
    for (const body of [
      { messages: [] },
      { messages: [{ role: 'hacker', content: 'x' }] },
      { rating: 9, messages: [{ role: 'visitor', content: 'x' }] },
      // Citation links a client might render: only http(s) URLs and paths on this site.
      ...['javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', '//evil.example/x', '/\\evil.example', '/\t/evil.example', 'https://', 'ftp://files.example/a'].map((url) => ({
        messages: [{ role: 'assistant', content: 'x', citations: [{ title: 'Link', url }] }],
      })),
    ]) {
      expect((await acme.owner.request('POST', '/v1/support-transcripts', body)).status, JSON.stringify(body).slice(0, 60)).toBe(400);
    }
    for (const body of [
      { messages: [{ role: 'visitor', content: 'x'.repeat(20_001) }] },
      { messages: [{ role: 'assistant', content: 'x', citations: Array.from({ length: 21 }, () => ({ title: 'Link', url: '/help' })) }] },
    ]) {
      const refused = await acme.owner.request('POST', '/v1/support-transcripts', body);
      expect(refused.status, JSON.stringify(body).slice(0, 60)).toBe(422);
      expect(refused.body.errors[0].path).toMatch(/^json\.messages\.0\.(content|citations)$/);
    }
    expect((await acme.owner.request('GET', '/v1/support-transcripts')).body.data).toEqual([]);
  });

  it('are deleted only by a signed-in owner or admin, as a project is: a member or an API key gets 403, and nothing is deleted or audited', async () => {
    const member = await joinAs(acme, 'member');
    const admin = await joinAs(acme, 'admin');
    // Read past the API, as the schema owner inside the organization: what is stored, and the deletions audited.
    const stored = async (id: string) =>
      (
        await env.db.admin.withTenant(acme.orgId, (tx) =>
          tx.execute<{ transcripts: number; messages: number; deletions: { actorType: string; actorId: string }[] }>(sql`
            select (select count(*)::int from support_transcripts where id = ${id}) as transcripts,
                   (select count(*)::int from support_messages where transcript_id = ${id}) as messages,
                   (select coalesce(jsonb_agg(jsonb_build_object('actorType', actor_type, 'actorId', actor_id)), '[]') from audit_log
                     where action = 'support_transcript.delete' and target_id = ${id}::text) as deletions`),
        )
      )[0]!;

    const id = await importTranscript(acme);
    const byMember = await member.agent.request('DELETE', `/v1/support-transcripts/${id}`);
    const byKey = await fetch(`${env.server.url}/v1/support-transcripts/${id}`, { method: 'DELETE', headers: acme.headers });
    expect([byMember.status, byMember.headers.get('content-type'), byKey.status, byKey.headers.get('content-type')]).toEqual([403, 'application/problem+json', 403, 'application/problem+json']);
    expect(byMember.body.detail).toMatch(/owner or admin/);
    expect(((await byKey.json()) as { detail: string }).detail).toMatch(/signed-in/);
    expect(await stored(id)).toEqual({ transcripts: 1, messages: 2, deletions: [] });
    // A member still reads it: only the deletion needs the role.
    expect((await member.agent.request('GET', `/v1/support-transcripts/${id}`)).status).toBe(200);

    for (const [who, agent, userId] of [
      ['admin', admin.agent, admin.userId],
      ['owner', acme.owner, undefined],
    ] as const) {
      const target = await importTranscript(acme);
      expect((await agent.request('DELETE', `/v1/support-transcripts/${target}`)).status, who).toBe(204);
      const after = await stored(target);
      expect(after, who).toMatchObject({ transcripts: 0, messages: 0, deletions: [{ actorType: 'user' }] });
      if (userId) expect(after.deletions[0]!.actorId).toBe(userId);
    }
  });

  it('filter by visitor reference (exact match) with the other filters and across pages, never showing another organization’s', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) mine.unshift(await importTranscript(acme, { visitorRef: 'visitor-42', channel: i % 2 ? 'email' : 'chat' }));
    const others = [
      await importTranscript(acme, { visitorRef: 'visitor-4' }),
      await importTranscript(acme, { visitorRef: 'visitor-420' }),
      await importTranscript(acme, { visitorRef: 'VISITOR-42' }),
      await importTranscript(acme),
    ];
    const theirs = await importTranscript(globex, { visitorRef: 'visitor-42' });

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response: { status: number; body: { data: { id: string; visitorRef: string }[]; nextCursor: string | null } } = await acme.owner.request(
        'GET',
        `/v1/support-transcripts?visitorRef=visitor-42&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(response.status).toBe(200);
      expect(response.body.data.length).toBeLessThanOrEqual(2);
      for (const t of response.body.data) expect(t.visitorRef).toBe('visitor-42');
      seen.push(...response.body.data.map((t) => t.id));
      cursor = response.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    // Newest first, each once, on three pages; none of the near misses, none of Globex's.
    expect(seen).toEqual(mine);
    expect(pages).toBe(3);
    for (const id of [...others, theirs]) expect(seen).not.toContain(id);

    const emailed = await acme.owner.request('GET', '/v1/support-transcripts?visitorRef=visitor-42&channel=email');
    expect(emailed.body.data.map((t: { id: string }) => t.id)).toEqual([mine[1], mine[3]]);
    // An API key sees the same, and Globex sees only its own.
    const byKey = await fetch(`${env.server.url}/v1/support-transcripts?visitorRef=visitor-42&limit=200`, { headers: acme.headers });
    expect(((await byKey.json()) as { data: { id: string }[] }).data.map((t) => t.id)).toEqual(mine);
    expect((await globex.owner.request('GET', '/v1/support-transcripts?visitorRef=visitor-42')).body.data.map((t: { id: string }) => t.id)).toEqual([theirs]);
    expect((await acme.owner.request('GET', '/v1/support-transcripts?visitorRef=nobody')).body).toEqual({ data: [], nextCursor: null });
    // An empty reference can be stored, so it is matched like any other (not taken for "no filter").
    const empty = await importTranscript(acme, { visitorRef: '' });
    expect((await acme.owner.request('GET', '/v1/support-transcripts?visitorRef=')).body.data.map((t: { id: string }) => t.id)).toEqual([empty]);

    // A reference longer than any stored one is 422, as an oversized field is everywhere; a NUL character 400.
    const long = await acme.owner.request('GET', `/v1/support-transcripts?visitorRef=${'v'.repeat(201)}`);
    expect([long.status, long.headers.get('content-type'), long.body.errors]).toEqual([422, 'application/problem+json', [{ path: 'query.visitorRef', message: expect.any(String) }]]);
    expect((await acme.owner.request('GET', `/v1/support-transcripts?visitorRef=${'v'.repeat(200)}`)).status).toBe(200);
    const nul = await acme.owner.request('GET', '/v1/support-transcripts?visitorRef=a%00b');
    expect([nul.status, nul.headers.get('content-type')]).toEqual([400, 'application/problem+json']);
  });
});
