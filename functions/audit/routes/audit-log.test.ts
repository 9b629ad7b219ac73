import { beforeAll, describe, expect, it } from 'vitest';
import { createTenant, type TestTenant } from '../../../test/tenants.ts';
import { useTestServer } from '../../../test/use-server.ts';

const env = useTestServer();
let acme: TestTenant;
let globex: TestTenant;
beforeAll(async () => {
  acme = await createTenant(env.db, env.server, 'Acme');
  globex = await createTenant(env.db, env.server, 'Globex');
  for (const [tenant, name] of [[acme, 'acme-1'], [acme, 'acme-2'], [globex, 'globex-1']] as const) {
    await fetch(`${env.server.url}/v1/projects`, { method: 'POST', headers: tenant.headers, body: JSON.stringify({ name }) });
  }
});

const get = async (tenant: TestTenant, path: string) => {
  const response = await fetch(env.server.url + path, { headers: tenant.headers });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
};

describe('the audit log API', () => {
  it('lists the organization’s own rows, newest first, with actor and filters', async () => {
    const all = JSON.parse((await get(acme, '/v1/audit-log')).text);
    expect(all.data.map((r: { action: string }) => r.action)).toEqual(['project.create', 'project.create', 'api_key.create', 'organization.create']);
    expect(all.data.every((r: { org_id: string }) => r.org_id === acme.orgId)).toBe(true);
    expect(all.data[0]).toMatchObject({ actor_type: 'api_key', actor_id: acme.keyId, target_type: 'project', data: { after: { name: 'acme-2' } } });
    expect(all.data[2]).toMatchObject({ actor_type: 'system', actor_id: 'operator-cli', action: 'api_key.create' });
    expect(all.data[3]).toMatchObject({ actor_type: 'user', action: 'organization.create' });

    const filtered = JSON.parse((await get(acme, '/v1/audit-log?action=organization.create')).text);
    expect(filtered.data).toHaveLength(1);
    const paged = JSON.parse((await get(acme, '/v1/audit-log?limit=2')).text);
    expect(paged.data).toHaveLength(2);
    const rest = JSON.parse((await get(acme, `/v1/audit-log?limit=2&cursor=${paged.nextCursor}`)).text);
    expect(rest.data.map((r: { seq: number }) => r.seq)).toEqual([2, 1]);
    const future = JSON.parse((await get(acme, '/v1/audit-log?from=2999-01-01T00:00:00Z')).text);
    expect(future.data).toEqual([]);
  });

  it('answers invalid filters with 400 and the field paths', async () => {
    for (const [query, field] of [
      ['from=yesterday', 'query.from'],
      ['to=0000-06-01T00:00:00Z', 'query.to'],
      ['action=DROP TABLE', 'query.action'],
      ['limit=0', 'query.limit'],
      ['cursor=abc', 'query.cursor'],
      // A misspelt filter is refused, never ignored (that would return the whole log).
      [`target=${acme.orgId}`, 'query.target'],
    ]) {
      const response = await get(acme, `/v1/audit-log?${query}`);
      expect(response.status, query).toBe(400);
      expect(JSON.parse(response.text).errors[0].path).toBe(field);
    }
    expect((await get(acme, '/v1/audit-log/export?format=xml')).status).toBe(400);
    expect(JSON.parse((await get(acme, '/v1/audit-log/export?actorId=x')).text).errors).toEqual([{ path: 'query.actorId', message: 'not a known field' }]);
    // Refused before the export's 200 and its audit row, not cut off mid-stream.
    const yearZero = await get(acme, '/v1/audit-log/export?from=0000-01-01T00:00:00Z');
    expect(yearZero.status).toBe(400);
    expect(JSON.parse(yearZero.text).errors[0]).toEqual({ path: 'query.from', message: 'there is no year 0000; years start at 0001' });
  });

  it('exports JSON Lines and CSV with seq, prev_hash and hash, and audits each export', async () => {
    const jsonl = await get(acme, '/v1/audit-log/export?format=jsonl');
    expect(jsonl.type).toBe('application/x-ndjson');
    const rows = jsonl.text.trim().split('\n').map((line) => JSON.parse(line));
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(rows[4]).toMatchObject({ action: 'audit.export', data: { format: 'jsonl' } });
    expect(rows[1].prev_hash).toBe(rows[0].hash);

    const csv = await get(acme, '/v1/audit-log/export?format=csv&action=project.create');
    expect(csv.type).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\n');
    expect(lines[0]).toBe('org_id,seq,occurred_at,actor_type,actor_id,action,target_type,target_id,request_id,ip,data,prev_hash,hash');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('"{""after"":');
    const actions = JSON.parse((await get(acme, '/v1/audit-log?action=audit.export')).text).data;
    expect(actions).toHaveLength(2);
  });

  it('never shows another organization’s rows, by any route', async () => {
    for (const path of ['/v1/audit-log', '/v1/audit-log/export', '/v1/audit-log/checkpoints', '/v1/audit-log/verify']) {
      const text = (await get(globex, path)).text;
      expect(text, path).not.toContain(acme.orgId);
      expect(text, path).not.toContain('acme-');
    }
    const verify = JSON.parse((await get(globex, '/v1/audit-log/verify')).text);
    expect(verify).toMatchObject({ ok: true });
  });

  it('writes each exported row exactly as the list serializes it, whatever the strings hold', async () => {
    const names = ['quote " backslash \\ comma , semicolon ;', 'line\nbreak\r\ttab \u0001 \u2028', 'é ü 😀 中文', '"', ''];
    for (const name of names) {
      await fetch(`${env.server.url}/v1/projects`, { method: 'POST', headers: acme.headers, body: JSON.stringify({ name: name || 'x', description: name }) });
    }
    const listed = JSON.parse((await get(acme, '/v1/audit-log?limit=500')).text).data.reverse() as Record<string, unknown>[];
    // The export also holds its own row, written after the list was read.
    const jsonl = (await get(acme, '/v1/audit-log/export?format=jsonl')).text.split('\n').slice(0, listed.length);
    expect(jsonl).toEqual(listed.map((r) => JSON.stringify(r)));

    // CSV as the export wrote it before it streamed row by row: JSON for non-strings, quotes where needed.
    const cell = (value: unknown) => {
      const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
      return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
    };
    const columns = ['org_id', 'seq', 'occurred_at', 'actor_type', 'actor_id', 'action', 'target_type', 'target_id', 'request_id', 'ip', 'data', 'prev_hash', 'hash'];
    const csv = (await get(acme, '/v1/audit-log/export?format=csv')).text;
    const expected = [columns.join(','), ...listed.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n');
    expect(csv.startsWith(`${expected}\n`)).toBe(true);
  });
});
