import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eq, sql, type SQL } from 'drizzle-orm';
import type { Job } from 'graphile-worker';
import pino from 'pino';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlLibrary, frameworkTemplateSchema } from '../../db/controls/library.ts';
import { controlFrameworks } from '../../db/schema/controls.ts';
import { ApiError } from '../../middleware/errors.ts';
import { signerFromPem, verifierKey, verifyCheckpoint } from '../../db/audit/checkpoint.ts';
import { emitAudit } from '../../db/audit/emit.ts';
import { PACK_PATHS, sha256Hex, verifyPack } from '../../db/audit/pack.ts';
import { LocalHashEmbedder } from '../../db/search/embedder.ts';
import { runJobs } from '../../test/jobs.ts';
import { describeTenantRouteSecurity } from '../../test/security-suite.ts';
import { startTestServer } from '../../test/server.ts';
import { createTenant, type TestTenant } from '../../test/tenants.ts';
import { useTestServer } from '../../test/use-server.ts';
import { uniqueEmail, UserAgent } from '../../test/user-agent.ts';
import controlsApp from './index.ts';
import { buildEvidencePack, DEFAULT_PACK_MAX_BYTES, type PackInput } from './pack.ts';
import { collectDueControls, controlTasks } from './tasks.ts';

// Checkpoints every few appends, so packs carry signed checkpoints.
const env = useTestServer({ checkpointEvery: 3 });
let acme: TestTenant;
let globex: TestTenant;
let dir: string;
const SOC2 = { framework: 'soc2', version: '2017-tsc-rev2022' };

interface Control {
  id: string;
  ref: string;
  evidence: { source: string; parameters: Record<string, unknown> }[];
}

beforeAll(async () => {
  acme = await createTenant(env.db, env.server, 'Acme');
  globex = await createTenant(env.db, env.server, 'Globex');
  dir = await mkdtemp(path.join(tmpdir(), 'kommit-packs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function adopt(tenant: TestTenant, body = SOC2) {
  const response = await tenant.owner.request('POST', '/v1/controls/frameworks', body);
  expect(response.status, response.text).toBe(201);
  return response.body.controls as Control[];
}

async function collect(tenant: TestTenant, controlId: string) {
  const response = await tenant.owner.request('POST', `/v1/controls/${controlId}/collect`);
  expect(response.status, response.text).toBe(201);
  return response.body as { passed: boolean; snapshots: { id: string; content: string; contentHash: string; passed: boolean }[] };
}

async function customControl(tenant: TestTenant, ref: string, evidence: Control['evidence']) {
  const response = await tenant.owner.request('POST', '/v1/controls', { ref, title: ref, evidence });
  expect(response.status, response.text).toBe(201);
  return response.body as Control;
}

async function downloadPack(tenant: TestTenant, body: Record<string, unknown>, server: { url: string } = env.server) {
  return fetch(`${server.url}/v1/evidence-packs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: tenant.owner.cookieHeader(), origin: new URL(server.url).origin },
    body: JSON.stringify(body),
  });
}

describe('the control library', () => {
  it('ships SOC 2, GDPR and the EU AI Act, each valid against the schema, with their official reference ids', () => {
    const byName = new Map(controlLibrary().map((t) => [t.framework, t.controls.map((c) => c.ref)]));
    expect(byName.get('soc2')).toEqual(expect.arrayContaining(['CC6.1', 'CC6.2', 'CC6.3', 'CC7.2', 'CC8.1']));
    expect(byName.get('gdpr')).toEqual(expect.arrayContaining(['Art. 5(1)(e)', 'Art. 17', 'Art. 30', 'Art. 32']));
    expect(byName.get('eu-ai-act')).toEqual(expect.arrayContaining(['Art. 12', 'Art. 14', 'Art. 19', 'Art. 26']));
  });

  it('rejects a template with a duplicate ref or an evidence mapping the source would refuse', () => {
    const template = { framework: 'x', version: '1', title: 'X', notice: 'n', controls: [] as unknown[] };
    const control = (ref: string, evidence: unknown[]) => ({ ref, title: ref, description: '', evidence });
    const bad = frameworkTemplateSchema.safeParse({
      ...template,
      controls: [control('A', [{ source: 'api_key_age', parameters: { maxAgeDays: 'old' } }]), control('A', [{ source: 'nope', parameters: {} }])],
    });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path.join('.'))).toEqual(['controls.0.evidence.0.parameters.maxAgeDays', 'controls.1.ref', 'controls.1.evidence.0.source']);
  });
});

describe('adopting and editing controls', () => {
  it('instantiates the template as the organization’s own controls, once, audited', async () => {
    const controls = await adopt(acme);
    expect(controls.map((c) => c.ref)).toContain('CC6.1');
    expect(controls.find((c) => c.ref === 'CC6.1')!.evidence).toEqual([{ source: 'api_key_age', parameters: { maxAgeDays: 90 } }]);
    expect((await acme.owner.request('POST', '/v1/controls/frameworks', SOC2)).status).toBe(409);
    const library = (await acme.owner.request('GET', '/v1/controls/frameworks')).body.data as { framework: string; adopted: unknown }[];
    expect(library.find((f) => f.framework === 'soc2')!.adopted).not.toBeNull();
    expect(library.find((f) => f.framework === 'gdpr')!.adopted).toBeNull();
    // The other organization sees nothing of it.
    expect((await globex.owner.request('GET', '/v1/controls')).body.data).toEqual([]);
    expect((await acme.owner.request('GET', '/v1/audit-log?action=control_framework.adopt')).body.data).toHaveLength(1);
  });

  it('refuses unknown frameworks and controls, bad evidence mappings and API keys with a clear 4xx, storing nothing', async () => {
    const unknown = await acme.owner.request('POST', '/v1/controls/frameworks', { framework: 'iso27001', version: '2022' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].path).toBe('json.framework');
    const wrongVersion = await acme.owner.request('POST', '/v1/controls/frameworks', { framework: 'gdpr', version: '1995' });
    expect(wrongVersion.status).toBe(400);
    expect((await acme.owner.request('PATCH', `/v1/controls/${crypto.randomUUID()}`, { notes: 'x' })).status).toBe(404);
    expect((await acme.owner.request('GET', '/v1/controls/not-a-uuid')).status).toBe(400);

    const [control] = (await acme.owner.request('GET', '/v1/controls?framework=soc2&limit=200')).body.data as Control[];
    const before = (await acme.owner.request('GET', `/v1/controls/${control!.id}`)).body;
    const wrongType = await acme.owner.request('PATCH', `/v1/controls/${control!.id}`, { notes: 'changed', evidence: [{ source: 'api_key_age', parameters: { maxAgeDays: 'ninety' } }] });
    expect(wrongType.status).toBe(400);
    expect(wrongType.headers.get('content-type')).toBe('application/problem+json');
    expect(wrongType.body.errors).toEqual([expect.objectContaining({ path: 'json.evidence.0.parameters.maxAgeDays' })]);
    const unknownSource = await acme.owner.request('PATCH', `/v1/controls/${control!.id}`, { evidence: [{ source: 'vibes', parameters: {} }] });
    expect(unknownSource.body.errors[0].path).toBe('json.evidence.0.source');
    const extra = await acme.owner.request('PATCH', `/v1/controls/${control!.id}`, { evidence: [{ source: 'human_oversight', parameters: { workflowId: 'nope', extra: 1 } }] });
    expect(extra.status).toBe(400);
    expect(extra.body.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['json.evidence.0.parameters.workflowId']));
    expect((await acme.owner.request('GET', `/v1/controls/${control!.id}`)).body).toEqual(before);

    const viaKey = await fetch(`${env.server.url}/v1/controls/frameworks`, { method: 'POST', headers: acme.headers, body: JSON.stringify({ framework: 'gdpr', version: '2016-679' }) });
    expect(viaKey.status).toBe(403);
  });

  it('lets the organization edit owner, status, notes and applicability, and add its own controls', async () => {
    const [control] = (await acme.owner.request('GET', '/v1/controls?framework=soc2')).body.data as Control[];
    const changed = await acme.owner.request('PATCH', `/v1/controls/${control!.id}`, { owner: 'sec@acme.test', status: 'implemented', notes: 'Reviewed in Q3', applicable: true });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ owner: 'sec@acme.test', status: 'implemented', notes: 'Reviewed in Q3' });
    const own = await customControl(acme, 'ACME-1', []);
    expect((await acme.owner.request('GET', '/v1/controls?framework=custom')).body.data.map((c: Control) => c.id)).toEqual([own.id]);
    expect((await acme.owner.request('POST', `/v1/controls/${own.id}/collect`)).status).toBe(422);
  });
});

describe('collecting evidence', () => {
  it('API keys older than N days: passes, fails once a key is old, passes again when it is revoked', async () => {
    const cc61 = ((await acme.owner.request('GET', '/v1/controls?framework=soc2&limit=200')).body.data as Control[]).find((c) => c.ref === 'CC6.1')!;
    expect((await collect(acme, cc61.id)).passed).toBe(true);
    await env.db.admin.withTenant(acme.orgId, (tx) => tx.execute(sql`update api_keys set created_at = now() - interval '200 days' where id = ${acme.keyId}`));
    const failing = await collect(acme, cc61.id);
    expect(failing.passed).toBe(false);
    expect(JSON.parse(failing.snapshots[0]!.content).rows).toEqual([expect.objectContaining({ id: acme.keyId })]);
    const summary = (await acme.owner.request('GET', '/v1/controls/summary')).body;
    expect(summary.failing.map((f: { ref: string }) => f.ref)).toEqual(['CC6.1']);
    expect(summary.counts.failing).toBe(1);
    // The history keeps both verdicts, newest first.
    const history = (await acme.owner.request('GET', `/v1/controls/${cc61.id}`)).body.snapshots as { passed: boolean }[];
    expect(history.map((s) => s.passed)).toEqual([false, true]);
    // A fresh key for the rest of the file, then the old one goes.
    const fresh = (await acme.owner.request('POST', '/v1/api-keys', { name: 'fresh' })).body;
    acme.headers = { ...acme.headers, authorization: `Bearer ${fresh.key}` };
    expect((await acme.owner.request('DELETE', `/v1/api-keys/${acme.keyId}`)).status).toBe(200);
    expect((await collect(acme, cc61.id)).passed).toBe(true);
    expect((await acme.owner.request('GET', '/v1/controls/summary')).body.failing).toEqual([]);
    // Each collection is a governed action recording the snapshot's hash.
    const audit = (await acme.owner.request('GET', `/v1/audit-log?action=evidence.collect&targetId=${cc61.id}`)).body.data;
    expect(audit).toHaveLength(3);
  });

  it('access review: a membership change in the period flips an access review that expects none', async () => {
    const first = await customControl(acme, 'ACME-AR', [{ source: 'access_review', parameters: { periodDays: 30 } }]);
    const baseline = JSON.parse((await collect(acme, first.id)).snapshots[0]!.content).result.changes as number;
    await acme.owner.request('PATCH', `/v1/controls/${first.id}`, { evidence: [{ source: 'access_review', parameters: { periodDays: 30, maxChanges: baseline } }] });
    expect((await collect(acme, first.id)).passed).toBe(true);
    const member = new UserAgent(env.server);
    const email = uniqueEmail('member');
    await member.signUp(email);
    const invitation = await acme.owner.request('POST', '/api/auth/organization/invite-member', { email, role: 'member', organizationId: acme.orgId });
    expect((await member.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invitation.body.id })).status).toBe(200);
    const after = await collect(acme, first.id);
    expect(after.passed).toBe(false);
    expect(JSON.parse(after.snapshots[0]!.content).rows.map((r: { action: string }) => r.action)).toContain('member.add');
  });

  it('human oversight: fails without completed runs, passes once every approval is decided by the required role', async () => {
    const projectId = (await acme.owner.request('POST', '/v1/projects', { name: 'Model releases' })).body.id;
    const workflowId = (await acme.owner.request('POST', `/v1/projects/${projectId}/workflows`, {
      name: 'Release',
      steps: [{ name: 'Review', kind: 'review', requiredRole: 'member' }, { name: 'Approve', kind: 'approval', requiredRole: 'admin' }],
    })).body.id;
    await acme.owner.request('PATCH', `/v1/workflows/${workflowId}`, { status: 'active' });
    const control = await customControl(acme, 'ACME-HO', [{ source: 'human_oversight', parameters: { workflowId } }]);
    expect((await collect(acme, control.id)).passed).toBe(false);
    const runId = (await acme.owner.request('POST', `/v1/workflows/${workflowId}/runs`)).body.id;
    await acme.owner.request('POST', `/v1/workflows/${workflowId}/runs/${runId}/complete`, { step: 0, rationale: 'looked' });
    await acme.owner.request('POST', `/v1/workflows/${workflowId}/runs/${runId}/complete`, { step: 1, rationale: 'approved' });
    const passing = await collect(acme, control.id);
    expect(passing.passed).toBe(true);
    expect(JSON.parse(passing.snapshots[0]!.content).rows).toHaveLength(2);
    // A decision recorded for a role below the step's requirement shows as a violation.
    await env.db.admin.withTenant(acme.orgId, (tx) =>
      tx.execute(sql`update decision_events set metadata = metadata || '{"role":"member"}' where workflow_run_id = ${runId} and workflow_step = 1`),
    );
    const violated = await collect(acme, control.id);
    expect(violated.passed).toBe(false);
    expect(JSON.parse(violated.snapshots[0]!.content).result.violations).toBe(1);
  });

  it('decision rationale: a decision without a rationale flips the project’s control', async () => {
    const projectId = (await acme.owner.request('POST', '/v1/projects', { name: 'Pricing' })).body.id;
    const control = await customControl(acme, 'ACME-DR', [{ source: 'decision_rationale', parameters: { projectId } }]);
    await acme.owner.request('POST', '/v1/decision-events', { projectId, kind: 'decision', title: 'Raise prices', rationale: 'Costs went up' });
    expect((await collect(acme, control.id)).passed).toBe(true);
    await acme.owner.request('POST', '/v1/decision-events', { projectId, kind: 'decision', title: 'Drop the free tier' });
    expect((await collect(acme, control.id)).passed).toBe(false);
  });

  it('audit chain, deletions and retention sources run and keep snapshots append-only, even for the owner role', async () => {
    const control = await customControl(acme, 'ACME-LOG', [
      { source: 'audit_chain', parameters: {} },
      { source: 'data_deletions', parameters: { periodDays: 30, minimum: 1 } },
      { source: 'log_retention', parameters: { minimumDays: 183 } },
    ]);
    const { snapshots } = await collect(acme, control.id);
    expect(snapshots.map((s) => s.passed)).toEqual([true, true, true]);
    expect(JSON.parse(snapshots[0]!.content).rows[0].note).toMatch(/^kommit\/audit\//);
    for (const database of [env.db.app, env.db.admin]) {
      const refused = await database.withTenant(acme.orgId, (tx) => tx.execute(sql`update evidence_snapshots set passed = not passed`)).then(() => null, (e: unknown) => e);
      expect(refused).toBeInstanceOf(Error);
    }
  });

  it('collects on each control’s schedule in the worker', async () => {
    const gdpr = await adopt(globex, { framework: 'gdpr', version: '2016-679' });
    const art30 = gdpr.find((c) => c.ref === 'Art. 30')!;
    await runJobs(env.db);
    const history = (await globex.owner.request('GET', `/v1/controls/${art30.id}`)).body;
    expect(history.snapshots).toEqual([expect.objectContaining({ trigger: 'schedule', passed: true })]);
    expect(Date.parse(history.nextCollectionAt.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'))).toBeGreaterThan(Date.now() + 23 * 3600_000);
    // Not due again: a second pass collects nothing.
    await runJobs(env.db);
    expect((await globex.owner.request('GET', `/v1/controls/${art30.id}`)).body.snapshots).toHaveLength(1);
  });

  describe('one organization cannot stop the others’ scheduled collection', () => {
    const relay = controlTasks['controls.relay']!;
    /** Runs one relay pass as the worker would, keeping what it logged. */
    async function relayPass() {
      const logged: { level: number; orgId?: string; msg: string }[] = [];
      const logger = pino({ level: 'debug' }, { write: (line: string) => logged.push(JSON.parse(line)) });
      const outcome = await relay({}, { database: env.db.admin, logger, embedder: new LocalHashEmbedder(), job: {} as Job }).then(() => null, (e: unknown) => e as Error);
      return { outcome, errors: logged.filter((l) => l.level >= 50) };
    }
    const scheduled = async (tenant: TestTenant, controlId: string) =>
      ((await tenant.owner.request('GET', `/v1/controls/${controlId}`)).body.snapshots as { trigger: string }[]).filter((s) => s.trigger === 'schedule');
    /** The relay's order of organizations: the test breaks whichever of two comes first. */
    async function inRelayOrder(a: TestTenant, b: TestTenant) {
      const order = (await env.db.admin.sql<{ org: string }[]>`select org from kommit_orgs_with_due_controls() as org`).map((r) => r.org);
      expect(order).toEqual(expect.arrayContaining([a.orgId, b.orgId]));
      return order.indexOf(a.orgId) < order.indexOf(b.orgId) ? [a, b] : [b, a];
    }
    const art30Of = async (tenant: TestTenant) => (await adopt(tenant, { framework: 'gdpr', version: '2016-679' })).find((c) => c.ref === 'Art. 30')!;

    it('a failing organization is logged and the pass goes on to the next; the job still fails', async () => {
      const one = await createTenant(env.db, env.server, 'Initech');
      const two = await createTenant(env.db, env.server, 'Umbrella');
      const controls = new Map([[one.orgId, await art30Of(one)], [two.orgId, await art30Of(two)]]);
      const [broken, healthy] = await inRelayOrder(one, two);
      // Without its chain head, every audit append of the organization fails.
      await env.db.admin.withTenant(broken!.orgId, (tx) => tx.execute(sql`delete from audit_chain_heads`));
      const { outcome, errors } = await relayPass();
      expect(await scheduled(healthy!, controls.get(healthy!.orgId)!.id)).toHaveLength(1);
      expect(outcome?.message).toMatch(new RegExp(`failed for 1 of \\d+ organizations: ${broken!.orgId}$`));
      expect(errors).toEqual([expect.objectContaining({ orgId: broken!.orgId, msg: 'scheduled evidence collection failed for an organization' })]);
      // Off the schedule, so the later passes in this file see no failure.
      await env.db.admin.withTenant(broken!.orgId, (tx) => tx.execute(sql`update controls set next_collection_at = null`));
    });

    it('stops collecting for an organization whose deletion is requested after the relay listed it', async () => {
      const tenant = await createTenant(env.db, env.server, 'Listed then gone');
      const control = await art30Of(tenant);
      expect((await env.db.admin.sql<{ org: string }[]>`select org from kommit_orgs_with_due_controls() as org`).map((r) => r.org)).toContain(tenant.orgId);
      // Requested now, after the listing; the worker's first wave then removes the chain head.
      const ownerId = (await tenant.owner.request('GET', '/v1/session')).body.user.id as string;
      await env.db.app.withTenant(tenant.orgId, (tx) => tx.execute(sql`select kommit_begin_org_deletion(${ownerId})`));
      await env.db.admin.withTenant(tenant.orgId, (tx) => tx.execute(sql`delete from audit_chain_heads`));
      await collectDueControls(env.db.admin, tenant.orgId, undefined);
      const [left] = await env.db.admin.withTenant(tenant.orgId, (tx) => tx.execute<{ n: number }>(sql`select count(*)::int as n from evidence_snapshots where control_id = ${control.id}`));
      expect(left!.n).toBe(0);
    });

    it('skips an organization whose deletion was requested', async () => {
      const one = await createTenant(env.db, env.server, 'Hooli');
      const two = await createTenant(env.db, env.server, 'Pied Piper');
      const controls = new Map([[one.orgId, await art30Of(one)], [two.orgId, await art30Of(two)]]);
      const [deleting, healthy] = await inRelayOrder(one, two);
      const ownerId = (await deleting!.owner.request('GET', '/v1/session')).body.user.id as string;
      await env.db.app.withTenant(deleting!.orgId, (tx) => tx.execute(sql`select kommit_begin_org_deletion(${ownerId})`));
      // The org.delete worker's first wave removes the chain head before the controls.
      await env.db.admin.withTenant(deleting!.orgId, (tx) => tx.execute(sql`delete from audit_chain_heads`));
      const { outcome, errors } = await relayPass();
      expect(outcome).toBeNull();
      expect(errors).toEqual([]);
      expect(await scheduled(healthy!, controls.get(healthy!.orgId)!.id)).toHaveLength(1);
      const [left] = await env.db.admin.withTenant(deleting!.orgId, (tx) =>
        tx.execute<{ n: number }>(sql`select count(*)::int as n from evidence_snapshots where control_id = ${controls.get(deleting!.orgId)!.id}`),
      );
      expect(left!.n).toBe(0);
    });
  });
});

describe('evidence packs', () => {
  const period = () => ({ from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date().toISOString() });
  let packFile: string;
  let files: Record<string, Uint8Array>;
  let publicKey: string;

  /** A pack's files with some changed (null: removed) and the manifest rewritten to match, as a forger would. */
  const forge = (base: Record<string, Uint8Array>, changed: Record<string, Uint8Array | null>, edit: (manifest: Record<string, unknown>) => void = () => {}) => {
    const out = { ...base };
    for (const [p, bytes] of Object.entries(changed)) {
      if (bytes === null) delete out[p];
      else out[p] = bytes;
    }
    const manifest = JSON.parse(strFromU8(base['manifest.json']!));
    manifest.files = Object.entries(out)
      .filter(([p]) => p !== 'manifest.json')
      .map(([p, bytes]) => ({ path: p, sha256: sha256Hex(bytes), bytes: bytes.length }));
    edit(manifest);
    return zipSync({ ...out, 'manifest.json': strToU8(JSON.stringify(manifest)) });
  };
  const packRowOf = (pack: Record<string, Uint8Array>) => JSON.parse(strFromU8(pack[PACK_PATHS.auditLog]!).trim().split('\n').at(-1)!) as { seq: number; action: string };
  const snapshotsOf = (pack: Record<string, Uint8Array>) => Object.keys(pack).filter((p) => p.startsWith('snapshots/'));

  beforeAll(async () => {
    // Both organizations share the framework and collect evidence.
    await adopt(globex);
    for (const tenant of [acme, globex]) {
      const controls = (await tenant.owner.request('GET', '/v1/controls?framework=soc2&limit=200')).body.data as Control[];
      for (const c of controls.filter((c) => c.evidence.length)) await collect(tenant, c.id);
    }
  });

  it('holds only the organization’s data and verifies offline with npx kommit-audit verify-pack', async () => {
    const response = await downloadPack(acme, { framework: 'soc2', ...period() });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    const zip = new Uint8Array(await response.arrayBuffer());
    files = unzipSync(zip);
    const manifest = JSON.parse(strFromU8(files['manifest.json']!));
    expect(manifest.orgId).toBe(acme.orgId);
    for (const entry of manifest.files) expect(sha256Hex(files[entry.path]!), entry.path).toBe(entry.sha256);
    const paths = Object.keys(files);
    expect(paths).toEqual(expect.arrayContaining(['README.md', 'controls.json', 'audit/audit-log.jsonl', 'audit/public-key.txt']));
    expect(paths.filter((p) => p.startsWith('snapshots/')).length).toBeGreaterThan(3);
    // A period ending now, with no checkpoint since: one is signed at its last row, so the pack verifies today.
    const logRows = strFromU8(files['audit/audit-log.jsonl']!).trim().split('\n').map((line) => JSON.parse(line));
    expect(paths).toContain(PACK_PATHS.checkpoint(logRows.at(-1).seq));
    const everything = Object.values(files).map((f) => strFromU8(f)).join('\n');
    expect(everything).not.toContain(globex.orgId);
    expect(everything).toContain(acme.orgId);
    expect((await acme.owner.request('GET', '/v1/audit-log?action=evidence_pack.create')).body.data).toHaveLength(1);

    packFile = path.join(dir, 'acme.zip');
    await writeFile(packFile, zip);
    // The key is the deployment's, fetched apart from the pack: the copy inside it proves nothing.
    publicKey = (await acme.owner.request('GET', '/v1/audit-log/public-key')).body.verifierKey as string;
    const { stdout } = await promisify(execFile)('npx', ['kommit-audit', 'verify-pack', packFile, '--public-key', publicKey], { cwd: path.resolve(import.meta.dirname, '../..') });
    expect(stdout).toBe(
      `VERIFIED: evidence pack of organization ${acme.orgId}, soc2 2017-tsc-rev2022, period ${manifest.period.from} to ${manifest.period.to}, made ${manifest.createdAt}: ` +
        `${manifest.files.length} files match the manifest; audit chain of ${logRows.length} rows verifies, signed at its last row (seq ${logRows.at(-1).seq}) ` +
        `and at ${paths.filter((p) => p.startsWith('audit/checkpoints/')).length - 1} earlier checkpoint(s); README.md, controls.json and ${paths.filter((p) => p.startsWith('snapshots/')).length} snapshot(s) match the chain\n`,
    );
  });

  it('runs the exported chain on to the first checkpoint after the period, so a signature covers all of it', async () => {
    const to = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (let i = 0; i < 4; i++) await acme.owner.request('POST', '/v1/controls', { ref: `LATER-${i}`, title: 'after the period' });
    const response = await downloadPack(acme, { framework: 'soc2', from: new Date(Date.parse(to) - 86_400_000).toISOString(), to });
    expect(response.status).toBe(200);
    const later = unzipSync(new Uint8Array(await response.arrayBuffer()));
    const rows = strFromU8(later['audit/audit-log.jsonl']!).trim().split('\n').map((line) => JSON.parse(line) as { seq: number; occurred_at: string });
    const checkpointSeqs = Object.keys(later).filter((p) => p.startsWith('audit/checkpoints/')).map((p) => Number(p.slice(18, -5)));
    expect(Math.max(...checkpointSeqs)).toBe(rows.at(-1)!.seq);
    expect(rows.at(-1)!.occurred_at > to).toBe(true);
    expect(verifyPack(new Uint8Array(zipSync(later)), { publicKey }).ok).toBe(true);
  });

  it('names the file that was tampered with, even when the manifest was rewritten to match', async () => {
    const snapshot = Object.keys(files).find((p) => p.startsWith('snapshots/'))!;
    const content = JSON.parse(strFromU8(files[snapshot]!));
    const forged = strToU8(JSON.stringify({ ...content, passed: !content.passed }));
    const tampered = { ...files, [snapshot]: forged };
    const file = path.join(dir, 'tampered.zip');
    await writeFile(file, zipSync(tampered));
    const run = await promisify(execFile)('npx', ['kommit-audit', 'verify-pack', file], { cwd: path.resolve(import.meta.dirname, '../..') }).then(
      () => null,
      (e: { code: number; stdout: string }) => e,
    );
    expect(run).toMatchObject({ code: 1 });
    expect(run!.stdout).toContain(`${snapshot}: SHA-256 does not match the manifest`);

    const manifest = JSON.parse(strFromU8(files['manifest.json']!));
    manifest.files = manifest.files.map((f: { path: string }) => (f.path === snapshot ? { ...f, sha256: sha256Hex(forged) } : f));
    const rewritten = verifyPack(zipSync({ ...tampered, 'manifest.json': strToU8(JSON.stringify(manifest)) }));
    expect(rewritten.ok).toBe(false);
    expect(rewritten.problems).toEqual([`${snapshot}: content does not match the hash recorded in the audit chain`]);

    const log = strFromU8(files['audit/audit-log.jsonl']!).replace('"action":"control_framework.adopt"', '"action":"control_framework.adopted"');
    const brokenChain = verifyPack(zipSync({ ...files, 'audit/audit-log.jsonl': strToU8(log) }));
    expect(brokenChain.problems[0]).toBe('audit/audit-log.jsonl: SHA-256 does not match the manifest (the file was changed)');
    expect(brokenChain.problems[1]).toMatch(/^audit\/audit-log\.jsonl: first break at seq \d+ \(altered\)/);

    // controls.json and the manifest's framework and period are what the pack's own row (the chain's last) records.
    const original = JSON.parse(strFromU8(files['manifest.json']!));
    const rehashed = (changed: Record<string, Uint8Array>, edit: (m: typeof original) => void = () => {}) => {
      const m = structuredClone(original);
      m.files = m.files.map((f: { path: string }) => (changed[f.path] ? { ...f, sha256: sha256Hex(changed[f.path]!), bytes: changed[f.path]!.length } : f));
      edit(m);
      return verifyPack(zipSync({ ...files, ...changed, 'manifest.json': strToU8(JSON.stringify(m)) }), { publicKey });
    };
    const packRow = JSON.parse(strFromU8(files['audit/audit-log.jsonl']!).trim().split('\n').at(-1)!);
    expect(packRow.action).toBe('evidence_pack.create');
    const controls = JSON.parse(strFromU8(files['controls.json']!));
    controls[0].status = controls[0].status === 'implemented' ? 'not_started' : 'implemented';
    expect(rehashed({ 'controls.json': strToU8(`${JSON.stringify(controls, null, 2)}\n`) }).problems).toEqual([
      `controls.json: content does not match the hash recorded in the audit chain (seq ${packRow.seq})`,
    ]);
    expect(rehashed({}, (m) => (m.period.from = '2020-01-01T00:00:00.000Z')).problems).toEqual([`manifest.json: from is not what the pack's audit row (seq ${packRow.seq}) records`]);
    const cut = strToU8(`${strFromU8(files['audit/audit-log.jsonl']!).trim().split('\n').slice(0, -1).join('\n')}\n`);
    expect(rehashed({ 'audit/audit-log.jsonl': cut }).problems).toContain(
      "audit/audit-log.jsonl: the chain does not end with the row recording this pack (evidence_pack.create, with its framework, period, and what it holds)",
    );

    // A blank line between rows is no export's, even with the manifest made to match.
    const gapped = strToU8(strFromU8(files['audit/audit-log.jsonl']!).replace('\n', '\n\n'));
    manifest.files = manifest.files.map((f: { path: string }) => (f.path === 'audit/audit-log.jsonl' ? { ...f, sha256: sha256Hex(gapped), bytes: gapped.length } : f));
    const blank = verifyPack(zipSync({ ...files, 'audit/audit-log.jsonl': gapped, 'manifest.json': strToU8(JSON.stringify(manifest)) }));
    expect(blank.problems).toContain('audit/audit-log.jsonl: line 2 is blank: an export has no blank line before its last row');
  });

  it('refuses a pack with a snapshot dropped, or one added from outside its period: its own row records the set it ships', async () => {
    const { seq } = packRowOf(files);
    const count = snapshotsOf(files).length;
    // The failing CC6.1 collection (an API key too old) is the one a forger would drop.
    const failing = snapshotsOf(files).find((p) => JSON.parse(strFromU8(files[p]!)).passed === false)!;
    expect(failing).toBeDefined();
    expect(verifyPack(forge(files, { [failing]: null }), { publicKey }).problems).toEqual([
      `snapshots/: the pack holds ${count - 1} snapshot(s), not the ${count} its audit row (seq ${seq}) records: snapshots were removed or added`,
    ]);

    // A pack of a later period, with that earlier snapshot (recorded in the same chain, hash and all) slipped in.
    const start = new Date().toISOString();
    const cc61 = ((await acme.owner.request('GET', '/v1/controls?framework=soc2&limit=200')).body.data as Control[]).find((c) => c.ref === 'CC6.1')!;
    await collect(acme, cc61.id);
    const response = await downloadPack(acme, { framework: 'soc2', from: start, to: new Date().toISOString() });
    expect(response.status).toBe(200);
    const later = unzipSync(new Uint8Array(await response.arrayBuffer()));
    expect(snapshotsOf(later)).toHaveLength(1);
    expect(verifyPack(zipSync(later), { publicKey }).ok).toBe(true);
    const collectedAt = JSON.parse(strFromU8(files[failing]!)).collectedAt as string;
    expect(verifyPack(forge(later, { [failing]: files[failing]! }), { publicKey }).problems).toEqual([
      `snapshots/: the pack holds 2 snapshot(s), not the 1 its audit row (seq ${packRowOf(later).seq}) records: snapshots were removed or added`,
      `${failing}: collected at ${collectedAt}, outside the pack's period`,
    ]);
  });

  it('refuses a rewritten README, a file outside the pack’s layout, and a createdAt the chain does not record', async () => {
    const { seq } = packRowOf(files);
    expect(verifyPack(forge(files, {}), { publicKey }).ok).toBe(true);
    const readme = strFromU8(files['README.md']!).replace(/^Kommit ships [^]*?attestation\.$/m, 'All controls passed; no exceptions were noted.');
    expect(readme).not.toBe(strFromU8(files['README.md']!));
    expect(verifyPack(forge(files, { 'README.md': strToU8(readme) }), { publicKey }).problems).toEqual([
      `README.md: content does not match the hash recorded in the audit chain (seq ${seq})`,
    ]);
    expect(verifyPack(forge(files, { 'summary/auditor-opinion.txt': strToU8('Unqualified opinion.\n') }), { publicKey }).problems).toEqual([
      'summary/auditor-opinion.txt: not part of an evidence pack',
    ]);
    const made = JSON.parse(strFromU8(files['manifest.json']!)).createdAt as string;
    expect(made).toBe(JSON.parse(strFromU8(files[PACK_PATHS.auditLog]!).trim().split('\n').at(-1)!).occurred_at);
    expect(verifyPack(forge(files, {}, (m) => (m.createdAt = '2026-01-01T00:00:00.000Z')), { publicKey }).problems).toEqual([
      `manifest.json: createdAt is not the time of the pack's audit row (seq ${seq})`,
    ]);
  });

  it('refuses a zip holding a name twice: a forged controls.json before the genuine one', async () => {
    const { 'controls.json': genuine, ...rest } = files;
    // fflate writes each name once: the forged entry is written under a stand-in name of the same length, then renamed in place.
    const zip = Buffer.from(zipSync({ 'controlZ.json': strToU8('[]\n'), ...rest, 'controls.json': genuine! }));
    let renamed = 0;
    for (let at = zip.indexOf('controlZ.json'); at >= 0; at = zip.indexOf('controlZ.json', at + 1), renamed++) zip.write('controls.json', at);
    expect(renamed).toBe(2);
    expect(unzipSync(zip)['controls.json']).toEqual(genuine);
    expect(verifyPack(zip, { publicKey }).problems).toEqual(['controls.json: in the zip more than once (a reader could take either copy)']);
  });

  it('verifies a pack made after the signing key rotated: the checkpoint at its last row covers it, older ones are named as signed with another key', async () => {
    const rotated = await startTestServer(env.db, { checkpointEvery: 3 });
    try {
      const oldKey = publicKey;
      const newKey = (await (await fetch(`${rotated.url}/v1/audit-log/public-key`, { headers: { cookie: acme.owner.cookieHeader() } })).json()).verifierKey as string;
      expect(newKey).not.toBe(oldKey);
      const at = period();
      const response = await downloadPack(acme, { framework: 'soc2', ...at }, rotated);
      expect(response.status).toBe(200);
      const zip = new Uint8Array(await response.arrayBuffer());
      const pack = unzipSync(zip);
      const { seq } = packRowOf(pack);
      const manifest = JSON.parse(strFromU8(pack['manifest.json']!));
      const older = Object.keys(pack).filter((p) => p.startsWith('audit/checkpoints/') && p !== PACK_PATHS.checkpoint(seq));
      expect(older.length).toBeGreaterThan(0);
      const oldKeyId = oldKey.split('+').slice(0, 2).join('+');
      const verdict = verifyPack(zip, { publicKey: newKey });
      expect(verdict.problems).toEqual([]);
      expect(verdict.line).toBe(
        `VERIFIED: evidence pack of organization ${acme.orgId}, soc2 2017-tsc-rev2022, period ${manifest.period.from} to ${manifest.period.to}, made ${manifest.createdAt}: ` +
          `${manifest.files.length} files match the manifest; audit chain of ${seq} rows verifies, signed at its last row (seq ${seq}); ` +
          `README.md, controls.json and ${snapshotsOf(pack).length} snapshot(s) match the chain; ` +
          `${older.length} earlier checkpoint(s) signed with another key (${oldKeyId}) not checked (that key was not given as an earlier one): the one at the last row covers those rows too`,
      );
      // Given the key from before the rotation as an earlier one, those are checked too.
      const withEarlier = verifyPack(zip, { publicKey: newKey, earlierKeys: [oldKey] });
      expect(withEarlier.problems).toEqual([]);
      expect(withEarlier.line).toContain(`signed at its last row (seq ${seq}) and at ${older.length} earlier checkpoint(s); README.md`);
      expect(withEarlier.line).not.toContain('not checked');
      // ...and must agree with the chain as any other: one filed under another seq fails, under the earlier key as well.
      const swapped = forge(pack, { [older[0]!]: pack[older.at(-1)!]! });
      expect(older.length).toBeGreaterThan(1);
      const lastOlder = Number(/(\d+)\.note$/.exec(older.at(-1)!)![1]);
      expect(verifyPack(swapped, { publicKey: newKey, earlierKeys: [oldKey] }).problems).toEqual([`${older[0]}: signs seq ${lastOlder}, not the seq its name says`]);
      // An earlier key never signs for the last row: under the old key with the new one as earlier, the last row still fails.
      expect(verifyPack(zip, { publicKey: oldKey, earlierKeys: [newKey] }).problems).toContain(
        `${PACK_PATHS.checkpoint(seq)}: the checkpoint is signed with another key (${newKey.split('+').slice(0, 2).join('+')}), not with ${oldKeyId}`,
      );
      // Under the old key the last row is not signed: that fails, and says why in words.
      const underOld = verifyPack(zip, { publicKey: oldKey });
      expect(underOld.problems).toContain(`${PACK_PATHS.checkpoint(seq)}: the checkpoint is signed with another key (${newKey.split('+').slice(0, 2).join('+')}), not with ${oldKeyId}`);
      // A checkpoint that verifies under the key must still agree with the chain: the last row's, filed under an earlier seq, does not.
      const misfiled = forge(pack, { [older[0]!]: pack[PACK_PATHS.checkpoint(seq)]! });
      expect(verifyPack(misfiled, { publicKey: newKey }).problems).toEqual([`${older[0]}: signs seq ${seq}, not the seq its name says`]);
    } finally {
      await rotated.close();
    }
  });

  it('names the organization, framework and period in the verdict, so another customer’s genuine pack does not pass for this one', async () => {
    const response = await downloadPack(globex, { framework: 'soc2', ...period() });
    expect(response.status).toBe(200);
    const verdict = verifyPack(new Uint8Array(await response.arrayBuffer()), { publicKey });
    expect(verdict.ok).toBe(true);
    expect(verdict.line).toMatch(new RegExp(`^VERIFIED: evidence pack of organization ${globex.orgId}, soc2 2017-tsc-rev2022, period \\S+ to \\S+, made \\S+: `));
    expect(verdict.line).not.toContain(acme.orgId);
  });

  it('reads a log with a byte order mark as verify does', async () => {
    const log = strFromU8(files[PACK_PATHS.auditLog]!);
    const bom = verifyPack(forge(files, { [PACK_PATHS.auditLog]: strToU8(`\uFEFF${log}`) }), { publicKey });
    expect(bom.problems).toEqual([]);
    expect(bom.verdict).toBe('verified');
  });

  it('reports a broken chain once, without the checks that rest on it', async () => {
    const log = strFromU8(files[PACK_PATHS.auditLog]!);
    // The second line with a key added: not a row as exported, so the chain stops there.
    const lines = log.split('\n');
    const edited = [lines[0], lines[1]!.replace(/}$/, ',"note":"reviewed"}'), ...lines.slice(2)].join('\n');
    const broken = verifyPack(forge(files, { [PACK_PATHS.auditLog]: strToU8(edited) }), { publicKey });
    expect(broken.problems).toEqual([
      'audit/audit-log.jsonl: line 2 is not written as the export writes it (a key added, repeated, missing or moved, or other spacing)',
    ]);
    const altered = verifyPack(forge(files, { [PACK_PATHS.auditLog]: strToU8(log.replace('"action":"control_framework.adopt"', '"action":"control_framework.adopted"')) }), { publicKey });
    expect(altered.problems).toEqual([expect.stringMatching(/^audit\/audit-log\.jsonl: first break at seq \d+ \(altered\)/)]);
  });

  it('refuses a future, inverted or unknown request, and a pack over the size limit, storing nothing', async () => {
    const countPacks = async () => (await acme.owner.request('GET', '/v1/audit-log?action=evidence_pack.create')).body.data.length;
    const before = await countPacks();
    const now = Date.now();
    const future = await downloadPack(acme, { framework: 'soc2', from: new Date(now).toISOString(), to: new Date(now + 86_400_000 * 3).toISOString() });
    expect(future.status).toBe(400);
    expect((await future.json()).errors[0].path).toBe('json.to');
    const inverted = await downloadPack(acme, { framework: 'soc2', from: new Date(now - 1000).toISOString(), to: new Date(now - 86_400_000).toISOString() });
    expect(inverted.status).toBe(400);
    expect((await downloadPack(acme, { framework: 'soc2', from: 'yesterday', to: 3 })).status).toBe(400);
    expect((await downloadPack(acme, { framework: 'gdpr', ...period() })).status).toBe(404);
    const small = await startTestServer(env.db, { config: { evidencePackMaxBytes: 2000 } });
    try {
      const agent = new UserAgent(small);
      agent.setCookieHeader(acme.owner.cookieHeader());
      const tooBig = await fetch(`${small.url}/v1/evidence-packs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: acme.owner.cookieHeader(), origin: new URL(small.url).origin },
        body: JSON.stringify({ framework: 'soc2', ...period() }),
      });
      expect(tooBig.status).toBe(422);
      expect((await tooBig.json()).detail).toMatch(/exceed 2000 bytes/);
    } finally {
      await small.close();
    }
    expect(await countPacks()).toBe(before);
  });

  describe('reading snapshots within the budget', () => {
    // A key of its own: whatever it signs (a checkpoint at the period's end) is rolled back with the build.
    const signer = signerFromPem(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { keyName: 'kommit-test', everyAppends: 100, everyMinutes: 60 });
    const actor = { type: 'system', id: 'test' } as const;
    class RolledBack<T> {
      constructor(readonly outcome: T) {}
    }
    /**
     * Builds acme's pack straight from buildEvidencePack, watching what its
     * queries return: an organization can hold far more snapshot content than
     * a process can, so how much of it is read is the property under test.
     */
    async function build(options: Pick<PackInput, 'maxBytes' | 'snapshotPageBytes'>, { from, to } = period()) {
      const contentReads: { rows: number; bytes: number }[] = [];
      const built = env.db.app.withTenant(acme.orgId, async (tx) => {
        const watched = new Proxy(tx, {
          get(target, key, receiver) {
            if (key !== 'execute') return Reflect.get(target, key, receiver);
            return async (query: SQL) => {
              const rows = (await target.execute(query)) as Record<string, unknown>[];
              const content = rows.flatMap((row) => (typeof row.content === 'string' ? [Buffer.byteLength(row.content)] : []));
              if (content.length) contentReads.push({ rows: content.length, bytes: content.reduce((a, b) => a + b, 0) });
              return rows;
            };
          },
        });
        const [framework] = await tx.select().from(controlFrameworks).where(eq(controlFrameworks.framework, 'soc2'));
        const outcome = await buildEvidencePack(watched, { audit: { orgId: acme.orgId, actor, signer }, framework: framework!, from, to, controls: [], ...options }).then(
          (pack) => ({ pack, files: unzipSync(pack.zip) }),
          (e: unknown) => e,
        );
        throw new RolledBack(outcome);
      });
      const outcome = await built.then(
        () => expect.unreachable(),
        (thrown: unknown) => (thrown instanceof RolledBack ? thrown.outcome : Promise.reject(thrown)),
      );
      return { outcome, contentReads };
    }
    const sizes = (files: Record<string, Uint8Array>, prefix: string) => Object.entries(files).filter(([p]) => p.startsWith(prefix)).reduce((n, [, f]) => n + f.length, 0);

    it('ends the chain with its own row, recording controls.json, and signs a checkpoint there, so a pack verifies the day it is made', async () => {
      const controls = [{ ref: 'CC1.1', status: 'implemented' }];
      const outcome = await env.db.app
        .withTenant(acme.orgId, async (tx) => {
          // Appended without a signer: no checkpoint covers this row.
          const { seq } = await emitAudit(tx, { orgId: acme.orgId, actor }, { action: 'thing.happen' });
          const [framework] = await tx.select().from(controlFrameworks).where(eq(controlFrameworks.framework, 'soc2'));
          const pack = await buildEvidencePack(tx, { audit: { orgId: acme.orgId, actor, signer }, framework: framework!, ...period(), controls, maxBytes: DEFAULT_PACK_MAX_BYTES });
          throw new RolledBack({ seq, files: unzipSync(pack.zip) });
        })
        .catch((thrown: unknown) => (thrown instanceof RolledBack ? (thrown.outcome as { seq: number; files: Record<string, Uint8Array> }) : Promise.reject(thrown)));
      const lastRow = JSON.parse(strFromU8(outcome.files[PACK_PATHS.auditLog]!).trim().split('\n').at(-1)!);
      expect(lastRow).toMatchObject({ seq: outcome.seq + 1, action: 'evidence_pack.create', actor_type: 'system', data: { controlsSha256: sha256Hex(outcome.files[PACK_PATHS.controls]!) } });
      expect(JSON.parse(strFromU8(outcome.files[PACK_PATHS.controls]!))).toEqual(controls);
      const note = strFromU8(outcome.files[PACK_PATHS.checkpoint(lastRow.seq)]!);
      expect(verifyCheckpoint(note, verifierKey(signer))).toMatchObject({ orgId: acme.orgId, seq: lastRow.seq, hash: lastRow.hash });
    });

    it('refuses a period whose snapshots exceed the budget before reading any snapshot content', async () => {
      const at = period();
      const { outcome } = await build({ maxBytes: DEFAULT_PACK_MAX_BYTES }, at);
      const { files } = outcome as { files: Record<string, Uint8Array> };
      const snapshotBytes = sizes(files, 'snapshots/');
      expect(Object.keys(files).filter((p) => p.startsWith('snapshots/')).length).toBeGreaterThan(3);
      // Room for the audit chain, its checkpoints and key and all snapshots but one byte.
      const maxBytes = sizes(files, 'audit/') + snapshotBytes - 1;
      const refused = await build({ maxBytes }, at);
      expect(refused.outcome).toBeInstanceOf(ApiError);
      expect(refused.outcome).toMatchObject({ code: 'unprocessable', options: { extensions: { maxBytes } } });
      expect((refused.outcome as ApiError).detail).toMatch(new RegExp(`exceed ${maxBytes} bytes`));
      expect(refused.contentReads).toEqual([]);
      // A budget of exactly the pack's size is enough.
      expect((await build({ maxBytes: sizes(files, '') }, at)).outcome).toHaveProperty('pack');
    });

    it('builds a pack whose snapshots verify-pack checks against its period and controls.json', async () => {
      // A snapshot moved into the period in the database (its content, which
      // the chain vouches for, still says when it was collected), and a pack
      // built with no controls: verify-pack names both.
      const outcome = await env.db.admin
        .withTenant(acme.orgId, async (tx) => {
          const [framework] = await tx.select().from(controlFrameworks).where(eq(controlFrameworks.framework, 'soc2'));
          const [oldest] = await tx.execute<{ id: string; ms: string }>(sql`
            select s.id, (extract(epoch from s.collected_at) * 1000)::int8::text as ms
            from evidence_snapshots s join controls c on c.org_id = s.org_id and c.id = s.control_id
            where c.framework_id = ${framework!.id} order by s.collected_at limit 1`);
          const from = new Date(Number(oldest!.ms) + 1).toISOString();
          await tx.execute(sql`alter table evidence_snapshots disable trigger evidence_snapshots_append_only`);
          await tx.execute(sql`update evidence_snapshots set collected_at = ${from}::timestamptz where id = ${oldest!.id}`);
          await tx.execute(sql`alter table evidence_snapshots enable trigger evidence_snapshots_append_only`);
          const pack = await buildEvidencePack(tx, { audit: { orgId: acme.orgId, actor, signer }, framework: framework!, from, to: new Date().toISOString(), controls: [], maxBytes: DEFAULT_PACK_MAX_BYTES });
          throw new RolledBack({ moved: oldest!.id, zip: pack.zip });
        })
        .catch((thrown: unknown) => (thrown instanceof RolledBack ? (thrown.outcome as { moved: string; zip: Uint8Array }) : Promise.reject(thrown)));
      const files = unzipSync(outcome.zip);
      const moved = PACK_PATHS.snapshot(outcome.moved);
      const snapshots = Object.keys(files).filter((p) => p.startsWith('snapshots/'));
      expect(snapshots).toContain(moved);
      // (Signed with a key of its own, as after a rotation: the earlier checkpoints are named, not failed.)
      const { problems } = verifyPack(outcome.zip, { publicKey: verifierKey(signer) });
      expect(problems.filter((p) => p.includes('outside'))).toEqual([`${moved}: collected at ${JSON.parse(strFromU8(files[moved]!)).collectedAt}, outside the pack's period`]);
      expect(problems.filter((p) => p.includes('is not in controls.json'))).toHaveLength(snapshots.length);
      expect(problems, problems.join("\n")).toHaveLength(snapshots.length + 1);
    });

    it('reads snapshot content a page at a time and builds the same pack whatever the page size', async () => {
      const at = period();
      const whole = await build({ maxBytes: DEFAULT_PACK_MAX_BYTES }, at);
      const paged = await build({ maxBytes: DEFAULT_PACK_MAX_BYTES, snapshotPageBytes: 1 }, at);
      const [a, b] = [whole, paged].map((r) => r.outcome as { files: Record<string, Uint8Array>; pack: { manifest: { files: { path: string }[] } } });
      const count = Object.keys(a!.files).filter((p) => p.startsWith('snapshots/')).length;
      expect(count).toBeGreaterThan(3);
      // One snapshot a query when a page holds less than one.
      expect(paged.contentReads.map((r) => r.rows)).toEqual(Array(count).fill(1));
      expect(whole.contentReads.map((r) => r.rows)).toEqual([count]);
      // The same files in the same order. What records the making of the pack
      // differs: its time (README, manifest) and its own audit row (with the checkpoint there).
      const rowsIn = (files: Record<string, Uint8Array>) => Number(strFromU8(files[PACK_PATHS.auditLog]!).trim().split('\n').length);
      const made = (path: string) => !['README.md', 'manifest.json', PACK_PATHS.auditLog].includes(path) && !path.startsWith('audit/checkpoints/');
      expect(Object.entries(b!.files).filter(([p]) => made(p))).toEqual(Object.entries(a!.files).filter(([p]) => made(p)));
      expect(b!.pack.manifest.files.filter((f) => made(f.path))).toEqual(a!.pack.manifest.files.filter((f) => made(f.path)));
      expect(rowsIn(b!.files)).toBe(rowsIn(a!.files));
    });
  });
});

describeTenantRouteSecurity({
  fn: controlsApp,
  fixtures: {
    'GET /v1/controls/frameworks': {},
    'POST /v1/controls/frameworks': { body: { framework: 'eu-ai-act', version: '2024-1689' }, apiKey: false },
    'GET /v1/controls': {},
    'POST /v1/controls': { body: { ref: 'X-1', title: 'x' }, apiKey: false },
    'GET /v1/controls/summary': {},
    'GET /v1/controls/{id}': {},
    'PATCH /v1/controls/{id}': { body: { notes: 'x' }, apiKey: false },
    'POST /v1/controls/{id}/collect': { apiKey: false },
    'POST /v1/evidence-packs': {
      // The framework must be adopted (a second adoption answers 409, which is fine here).
      body: async (tenant: TestTenant) => {
        await tenant.owner.request('POST', '/v1/controls/frameworks', SOC2);
        return { framework: 'soc2', from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date().toISOString() };
      },
      apiKey: false,
    },
  },
  async createResource(tenant) {
    const adopted = await tenant.owner.request('POST', '/v1/controls/frameworks', SOC2);
    return (adopted.body.controls as Control[]).find((c) => c.ref === 'CC6.1')!.id;
  },
});
