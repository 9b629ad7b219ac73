import { beforeAll, describe, expect, it } from 'vitest';
import { createTenant, type TestTenant } from '../../../test/tenants.ts';
import { useTestServer } from '../../../test/use-server.ts';

const env = useTestServer();
let acme: TestTenant;
beforeAll(async () => {
  acme = await createTenant(env.db, env.server, 'Acme');
});

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
});
