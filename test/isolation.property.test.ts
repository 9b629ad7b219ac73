import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { runJobs } from './jobs.ts';
import { createTenant, type TestTenant } from './tenants.ts';
import { useTestServer } from './use-server.ts';

// Three organizations act at random on every tenant resource through the real
// HTTP API; afterwards each one's lists and reads must hold exactly what it
// created itself, and another's ids must answer 404.
const env = useTestServer({ config: { maxBodyBytes: 256 * 1024 } });
let tenants: TestTenant[];
beforeAll(async () => {
  tenants = [];
  for (const name of ['Alpha', 'Beta', 'Gamma']) tenants.push(await createTenant(env.db, env.server, name));
});

type Kind = 'project' | 'decision' | 'transcript' | 'workflow';
interface Created {
  tenant: number;
  kind: Kind;
  id: string;
  label: string;
}

const text = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((s) => s.trim().length > 0 && !s.includes('\u0000'));
const operation = fc.record({
  tenant: fc.integer({ min: 0, max: 2 }),
  kind: fc.constantFrom<Kind>('project', 'decision', 'transcript', 'workflow'),
  label: text,
  useKey: fc.boolean(),
  // About one decision or workflow in eight names another organization's project.
  foreign: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
});

describe('tenant isolation under random operations from three organizations', () => {
  it('every list and read shows each organization only its own rows', { timeout: 240_000 }, async () => {
    const created: Created[] = [];
    const projectsOf = new Map<number, string[]>();
    let operations = 0;
    let refused = 0;
    const send = async (tenant: TestTenant, useKey: boolean, method: string, path: string, body?: unknown) => {
      if (!useKey) return tenant.owner.request(method, path, body);
      const response = await fetch(env.server.url + path, { method, headers: tenant.headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: response.status, body: await response.json().catch(() => undefined) };
    };

    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 20, maxLength: 20 }), async (ops) => {
        for (const op of ops) {
          operations++;
          const tenant = tenants[op.tenant]!;
          const projects = projectsOf.get(op.tenant) ?? [];
          let response: { status: number; body: any };
          if (op.kind === 'project' || projects.length === 0) {
            response = await send(tenant, op.useKey, 'POST', '/v1/projects', { name: op.label });
            expect(response.status).toBe(201);
            projectsOf.set(op.tenant, [...projects, response.body.id]);
            created.push({ tenant: op.tenant, kind: 'project', id: response.body.id, label: op.label });
            continue;
          }
          // Another organization's project, when the operation says so and there is one: it must look missing, and nothing is written.
          const foreignProjects = [1, 2].flatMap((d) => projectsOf.get((op.tenant + d) % 3) ?? []);
          if (op.foreign && foreignProjects.length > 0 && (op.kind === 'decision' || op.kind === 'workflow')) {
            const projectId = foreignProjects[op.label.length % foreignProjects.length]!;
            response =
              op.kind === 'decision'
                ? await send(tenant, op.useKey, 'POST', '/v1/decision-events', { projectId, kind: 'learning', title: op.label })
                : await send(tenant, op.useKey, 'POST', `/v1/projects/${projectId}/workflows`, { name: op.label, steps: [{ name: 'Look', kind: 'review', requiredRole: 'member' }] });
            expect(response.status, `${op.kind} in another organization's project ${JSON.stringify(response.body)}`).toBe(404);
            refused++;
            continue;
          }
          const projectId = projects[op.label.length % projects.length]!;
          if (op.kind === 'decision') {
            response = await send(tenant, op.useKey, 'POST', '/v1/decision-events', { projectId, kind: 'learning', title: op.label });
          } else if (op.kind === 'transcript') {
            response = await send(tenant, op.useKey, 'POST', '/v1/support-transcripts', { channel: 'chat', messages: [{ role: 'visitor', content: op.label }] });
          } else {
            response = await send(tenant, op.useKey, 'POST', `/v1/projects/${projectId}/workflows`, {
              name: op.label,
              steps: [{ name: 'Look', kind: 'review', requiredRole: 'member' }],
            });
          }
          expect(response.status, `${op.kind} ${JSON.stringify(response.body)}`).toBe(201);
          created.push({ tenant: op.tenant, kind: op.kind, id: response.body.id, label: op.label });
        }
      }),
      { numRuns: 50 },
    );
    // 50 runs of 20 operations each; the refused ones wrote nothing (the lists below hold exactly what was created).
    expect(operations).toBe(1000);
    expect(refused).toBeGreaterThan(0);
    expect(created.length).toBe(operations - refused);

    const listIds = async (tenant: TestTenant, path: string) => {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const separator = path.includes('?') ? '&' : '?';
        const page: { body: { data: { id: string }[]; nextCursor?: string | null } } = await tenant.owner.request('GET', `${path}${separator}limit=200${cursor ? `&cursor=${cursor}` : ''}`);
        ids.push(...page.body.data.map((r) => r.id));
        cursor = page.body.nextCursor ?? null;
      } while (cursor);
      return ids.sort();
    };
    const readPath: Record<Kind, (id: string) => string> = {
      project: (id) => `/v1/projects/${id}`,
      decision: (id) => `/v1/decision-events/${id}`,
      transcript: (id) => `/v1/support-transcripts/${id}`,
      workflow: (id) => `/v1/workflows/${id}`,
    };
    // The embedding store fills in the worker: run it over everything queued.
    await runJobs(env.db);
    for (const [index, tenant] of tenants.entries()) {
      const own = (kind: Kind) => created.filter((c) => c.tenant === index && c.kind === kind).map((c) => c.id).sort();
      expect(await listIds(tenant, '/v1/projects')).toEqual(own('project'));
      expect(await listIds(tenant, '/v1/decision-events')).toEqual(own('decision'));
      expect(await listIds(tenant, '/v1/support-transcripts')).toEqual(own('transcript'));
      const workflows: string[] = [];
      for (const projectId of projectsOf.get(index) ?? []) {
        workflows.push(...(await tenant.owner.request('GET', `/v1/projects/${projectId}/workflows`)).body.data.map((w: { id: string }) => w.id));
      }
      expect(workflows.sort()).toEqual(own('workflow'));
      // A sample of everyone else's ids: each must look missing.
      const others = created.filter((c) => c.tenant !== index).filter((_, i) => i % 10 === 0);
      for (const other of others) {
        expect((await tenant.owner.request('GET', readPath[other.kind](other.id))).status, `${other.kind} ${other.id}`).toBe(404);
      }
      // Search for what others wrote, taking only labels search can find (its owner finds each: checked
      // for every organization below): hits, if any, are always the organization's own.
      const searchable = (c: Created) => (c.kind === 'decision' || c.kind === 'transcript') && /[\p{L}\p{N}]{4,}/u.test(c.label);
      const ownSources = new Set(created.filter((c) => c.tenant === index).map((c) => c.id));
      const theirsToSearch = created.filter((c) => c.tenant !== index && searchable(c)).slice(0, 15);
      expect(theirsToSearch.length, 'searchable labels of other organizations').toBeGreaterThan(0);
      for (const other of theirsToSearch) {
        const hits = (await tenant.owner.request('GET', `/v1/search?q=${encodeURIComponent(other.label)}&limit=50`)).body.data as { source: { id: string } }[];
        for (const hit of hits) expect(ownSources.has(hit.source.id), `search leaked ${hit.source.id}`).toBe(true);
      }
      // ...and what it wrote itself is found (the index is not simply empty).
      const ownToSearch = created.filter((c) => c.tenant === index && searchable(c)).slice(0, 5);
      expect(ownToSearch.length, 'searchable labels of this organization').toBeGreaterThan(0);
      for (const own of ownToSearch) {
        const hits = (await tenant.owner.request('GET', `/v1/search?q=${encodeURIComponent(own.label)}&limit=50`)).body.data as { source: { id: string } }[];
        expect(hits.map((h) => h.source.id), `search misses ${own.kind} ${own.id}`).toContain(own.id);
      }
      expect((await tenant.owner.request('GET', '/v1/audit-log/verify')).body.ok).toBe(true);
    }
  });
});
