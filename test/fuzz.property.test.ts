import fc from 'fast-check';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { tenantTablesChildrenFirst } from '../db/org-deletion.ts';
import { sampleOf } from '../middleware/openapi-examples.ts';
import { createTenant, type TestTenant } from './tenants.ts';
import { useTestServer } from './use-server.ts';

// Requests generated from the OpenAPI document for every route: valid ones,
// boundary and malformed bodies, query strings and headers. Whatever comes in,
// the answer is never a 5xx, every error is problem+json, and a refused
// request stores nothing.
const env = useTestServer({ config: { maxBodyBytes: 256 * 1024 } });
const RUNS = Number(process.env.FUZZ_RUNS ?? 5000);

type Operation = { method: string; path: string; parameters: { name: string; in: string; schema?: any }[]; body?: any; declared: string[] };
let operations: Operation[];
let schemas: Record<string, any>;
let tenant: TestTenant;
/** Real ids, so generated paths also reach existing resources. */
const realIds: string[] = [];

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '💥'.repeat(1000),
  '\u202eevil',
  'Ω≈ç√∫˜µ≤≥÷',
  "'; drop table projects; --",
  '../../etc/passwd',
  '%00%ff',
  '<script>alert(1)</script>',
  'x'.repeat(100_000),
  '-1',
  '1e309',
  'NaN',
  'null',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
];

const nasty = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS),
  fc.string({ unit: 'binary', maxLength: 50 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, false, [], {}, Number.MAX_SAFE_INTEGER, -0),
  fc.uuid(),
);

/** A body sent as these exact bytes (not JSON.stringify'd). */
class Raw {
  constructor(readonly text: string) {}
}

/** Objects and arrays nested this deep, written out directly (JSON.stringify would overflow first). */
const deep = (depth: number) => new Raw(`${'{"a":['.repeat(depth)}"bottom"${']}'.repeat(depth)}`);

/** A body for the schema: its example, the example with fields replaced by nasty values, removed or added, or something else entirely. */
function bodyFor(schema: any) {
  const valid = sampleOf(schema, schemas) as Record<string, unknown> | null;
  const keys = valid && typeof valid === 'object' ? Object.keys(valid) : [];
  return fc.oneof(
    fc.constant(valid),
    keys.length
      ? fc.record({ key: fc.constantFrom(...keys), value: nasty }).map(({ key, value }) => ({ ...valid, [key]: value }))
      : fc.constant(valid),
    keys.length ? fc.constantFrom(...keys).map((key) => Object.fromEntries(Object.entries(valid!).filter(([k]) => k !== key))) : fc.constant({}),
    fc.record({ extra: nasty }).map(({ extra }) => ({ ...valid, unexpected: extra })),
    nasty,
    fc.integer({ min: 50, max: 20_000 }).map(deep),
    fc.constant(new Raw('{"unterminated": ')),
    fc.constant(Array.from({ length: 10_000 }, (_, i) => i)),
  );
}

/** Percent-encodes every byte of the UTF-8 form (lone surrogates become U+FFFD, as on any wire). */
const encode = (value: string) => [...Buffer.from(value, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

function pathFor(op: Operation) {
  const names = op.parameters.filter((p) => p.in === 'path').map((p) => p.name);
  return fc.tuple(...names.map(() => fc.oneof(fc.constantFrom(...realIds), fc.uuid(), fc.constantFrom(...NASTY_STRINGS.slice(0, 14)).map((s) => s.slice(0, 200))))).map((values) =>
    names.reduce((path, name, i) => path.replace(`{${name}}`, encode(String(values[i]))), op.path),
  );
}

function queryFor(op: Operation) {
  const names = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
  if (names.length === 0) return fc.constant('');
  return fc
    .array(fc.tuple(fc.constantFrom(...names, 'unknown'), fc.oneof(nasty.map(String), fc.constantFrom('1', '0', '200', '201', 'active', 'jsonl', 'csv'))), { maxLength: 4 })
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${encode(v.slice(0, 2000))}`).join('&')}` : ''));
}

async function storedRows(orgId: string) {
  let total = 0;
  for (const table of await tenantTablesChildrenFirst(env.db.admin)) {
    const [row] = await env.db.admin.withTenant(orgId, (tx) => tx.execute<{ n: number }>(sql`select count(*)::int as n from ${sql.raw(table.name)}`));
    total += row!.n;
  }
  return total;
}

beforeAll(async () => {
  tenant = await createTenant(env.db, env.server, 'Fuzzed');
  const document = await (await fetch(`${env.server.url}/openapi.json`)).json();
  schemas = document.components.schemas;
  operations = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      parameters: op.parameters ?? [],
      body: op.requestBody?.content?.['application/json']?.schema,
      declared: Object.keys(op.responses ?? {}),
    })),
  )
    // Deleting the organization itself would end the run early; its refusals have their own tests.
    .filter((op) => !(op.method === 'DELETE' && op.path === '/v1/organizations/{id}'));
  const project = (await tenant.owner.request('POST', '/v1/projects', { name: 'fuzz' })).body.id;
  const event = (await tenant.owner.request('POST', '/v1/decision-events', { projectId: project, kind: 'decision', title: 'fuzz' })).body.id;
  const workflow = (await tenant.owner.request('POST', `/v1/projects/${project}/workflows`, { name: 'w', steps: [{ name: 's', kind: 'review', requiredRole: 'member' }] })).body.id;
  const hook = (await tenant.owner.request('POST', '/v1/webhook-endpoints', { name: 'h', projectId: project, target: 'raw_event' })).body.id;
  realIds.push(project, event, workflow, hook, tenant.orgId, tenant.keyId);
});

describe('fuzzed requests from the OpenAPI document', () => {
  it(`never answer 5xx, always answer errors as problem+json, and store nothing when they refuse (${RUNS} requests)`, { timeout: 600_000 }, async () => {
    const generated = fc.constantFrom(...operations).chain((op) =>
      fc.record({
        op: fc.constant(op),
        path: pathFor(op),
        query: queryFor(op),
        body: op.body ? bodyFor(op.body) : fc.option(nasty, { nil: undefined }),
        viaSession: fc.boolean(),
        contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1'),
      }),
    );
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(generated, async ({ op, path, query, body, viaSession, contentType }) => {
        const mutating = op.method !== 'GET';
        const before = mutating ? await storedRows(tenant.orgId) : 0;
        const payload = body === undefined ? undefined : body instanceof Raw ? body.text : JSON.stringify(body);
        const credential: Record<string, string> = viaSession
          ? { cookie: tenant.owner.cookieHeader(), origin: new URL(env.server.url).origin }
          : { authorization: tenant.headers.authorization! };
        const sent = await fetch(env.server.url + path + query, {
          method: op.method,
          headers: { ...credential, 'content-type': contentType },
          body: op.method === 'GET' ? undefined : payload,
          redirect: 'manual',
        });
        const raw = { status: sent.status, headers: sent.headers, text: await sent.text() };
        statuses.set(raw.status, (statuses.get(raw.status) ?? 0) + 1);
        const name = `${op.method} ${path}${query.slice(0, 100)}`;
        expect(raw.status, `${name}: ${raw.text?.slice(0, 300)}`).toBeLessThan(500);
        // 431 comes from Node's HTTP parser (request line and headers over 16 KiB) before any of our code runs.
        if (raw.status >= 400 && raw.status !== 431) expect(raw.headers.get('content-type'), name).toBe('application/problem+json');
        // What the route answered, the document says it can answer.
        if (raw.status !== 431) expect(op.declared, `${name} answered ${raw.status}: ${raw.text?.slice(0, 200)}`).toContain(String(raw.status));
        if (mutating && raw.status >= 400) expect(await storedRows(tenant.orgId), `${name} stored something`).toBe(before);
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    );
    // The run reached past validation too, not only 400s.
    expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
    expect([...statuses.keys()].some((s) => s === 404)).toBe(true);
  });
});
