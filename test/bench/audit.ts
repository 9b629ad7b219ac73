import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'drizzle-orm';
import { GENESIS_HASH, recordHash, type AuditRecord } from '../../db/audit/chain.ts';
import { verifyExportFile } from '../../db/audit/cli.ts';
import { connect } from '../../db/connection.ts';
import { createApiKey, createOrganization } from '../../db/operators.ts';
import { cloneDatabase, startTestCluster, type TestDatabase } from '../cluster.ts';
import { httpLoad, postgresCpuMicros, startServerProcess } from './process.ts';

const CONNECTIONS = 32;

/**
 * The raw baseline: the same chain-head lock, row insert and head update per
 * transaction, as plain SQL over 32 connections, no HTTP and no application.
 */
async function rawAppends(db: TestDatabase, orgs: string[], seconds: number) {
  const pg = connect(db.appUrl, { ca: db.ca, max: CONNECTIONS });
  let done = 0;
  const deadline = Date.now() + seconds * 1000;
  const postgresBefore = postgresCpuMicros();
  const clientBefore = process.cpuUsage();
  try {
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async (_, worker) => {
        for (let i = worker; Date.now() < deadline; i += CONNECTIONS) {
          const org = orgs[i % orgs.length]!;
          await pg.begin(async (t) => {
            await t`select set_config('app.current_org_id', ${org}, true)`;
            const [head] = await t<{ seq: string; head_hash: Buffer }[]>`select seq, head_hash from audit_chain_heads where org_id = ${org} for update`;
            const seq = Number(head!.seq) + 1;
            const hash = createHash('sha256').update(head!.head_hash).update(String(seq)).digest();
            await t`insert into audit_log (org_id, seq, occurred_at, actor_type, action, data, prev_hash, hash)
                    values (${org}, ${seq}, now(), 'system', 'raw.append', '{}'::jsonb, ${head!.head_hash}, ${hash})`;
            await t`update audit_chain_heads set seq = ${seq}, head_hash = ${hash} where org_id = ${org}`;
          });
          done++;
        }
      }),
    );
    // Before the connections close: their backends' CPU time goes with them.
    const client = process.cpuUsage(clientBefore);
    const cpu = { postgres: (postgresCpuMicros() - postgresBefore) / done, client: (client.user + client.system) / done };
    return { perSecond: done / seconds, cpu };
  } finally {
    await pg.end();
  }
}

/** HTTP governed writes, with the CPU time each process spent per write. */
async function httpWrites(server: Awaited<ReturnType<typeof startServerProcess>>, headers: Record<string, string>[], seconds: number) {
  const postgresBefore = postgresCpuMicros();
  const serverBefore = server.cpuMicros();
  const load = await httpLoad({ url: `${server.url}/v1/projects`, method: 'POST', body: JSON.stringify({ name: 'benchmark project' }), headers, connections: CONNECTIONS, seconds });
  const cpu = { postgres: (postgresCpuMicros() - postgresBefore) / load.ok, server: (server.cpuMicros() - serverBefore) / load.ok, generator: load.cpuMicros / load.ok };
  return { ...load, cpu };
}

/** Appends `count` valid rows to the organization's chain straight into the table (for the read-side benchmarks). */
export async function bulkChain(db: TestDatabase, org: string, count: number, onProgress: (n: number) => void) {
  const [head] = await db.admin.withTenant(org, (tx) =>
    tx.execute<{ seq: string; hash: string }>(sql`select seq::int8 as seq, encode(head_hash, 'hex') as hash from audit_chain_heads where org_id = ${org}`),
  );
  const first = head ? Number(head.seq) + 1 : 1;
  const last = first + count - 1;
  let prev = head?.hash ?? GENESIS_HASH.toString('hex');
  const batch = 10_000;
  for (let start = first; start <= last; start += batch) {
    const records: (AuditRecord & { hash: string })[] = [];
    for (let seq = start; seq < Math.min(start + batch, last + 1); seq++) {
      const record: AuditRecord = {
        org_id: org,
        seq,
        occurred_at: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString().replace('Z', '000Z'),
        actor_type: 'system',
        actor_id: 'bench',
        action: 'bench.row',
        target_type: 'project',
        target_id: `p-${seq % 97}`,
        request_id: null,
        ip: null,
        data: { n: seq, note: 'a row written by the audit benchmark' },
        prev_hash: prev,
      };
      const hash = recordHash(record).toString('hex');
      records.push({ ...record, hash });
      prev = hash;
    }
    // Raw postgres.js here: it binds each JS array as one Postgres array parameter.
    await db.admin.sql.begin(async (t) => {
      await t`select set_config('app.current_org_id', ${org}, true)`;
      await t`
        insert into audit_log (org_id, seq, occurred_at, actor_type, actor_id, action, target_type, target_id, data, prev_hash, hash)
        select ${org}::uuid, s, ts::timestamptz, 'system', 'bench', 'bench.row', 'project', tid, d::jsonb, decode(p, 'hex'), decode(h, 'hex')
        from unnest(${records.map((r) => r.seq)}::int8[], ${records.map((r) => r.occurred_at)}::text[], ${records.map((r) => r.target_id!)}::text[],
                    ${records.map((r) => JSON.stringify(r.data))}::text[], ${records.map((r) => r.prev_hash)}::text[], ${records.map((r) => r.hash)}::text[])
             as x(s, ts, tid, d, p, h)`;
    });
    onProgress(records.at(-1)!.seq);
  }
  await db.admin.withTenant(org, (tx) =>
    tx.execute(sql`insert into audit_chain_heads (org_id, seq, head_hash) values (${org}, ${last}, decode(${prev}, 'hex'))
                   on conflict (org_id) do update set seq = excluded.seq, head_hash = excluded.head_hash`),
  );
}

export async function benchAudit(options: { seconds: number; readOnly?: boolean; writesOnly?: boolean }) {
  const log = (line: string) => process.stderr.write(`bench audit: ${line}\n`);
  const cluster = await startTestCluster();
  const db = await cloneDatabase(cluster);
  const dir = await mkdtemp(path.join(tmpdir(), 'kommit-bench-audit-'));
  let server = await startServerProcess(db);
  const lines: string[] = [];
  try {
    const makeOrgs = (n: number, name: string) => Promise.all(Array.from({ length: n }, (_, i) => createOrganization(db.admin, { name: `${name} ${i}` })));
    const [rawOne, rawMany, httpOne, httpMany] = [await makeOrgs(1, 'raw one'), await makeOrgs(100, 'raw many'), await makeOrgs(1, 'http one'), await makeOrgs(100, 'http many')];
    const keyHeaders = async (orgs: string[]) =>
      Promise.all(orgs.map(async (org) => ({ authorization: `Bearer ${(await createApiKey(db.admin, org, 'bench')).key}`, 'content-type': 'application/json' })));

    // --read-only: skip the governed writes, measure verification and export only.
    if (!options.readOnly) {
      log(`raw baseline, one organization, ${options.seconds}s`);
      const rawOneRun = await rawAppends(db, rawOne, options.seconds);
      log(`HTTP governed writes (POST /v1/projects + audit row), one organization, ${options.seconds}s`);
      const httpOneRun = await httpWrites(server, await keyHeaders(httpOne), options.seconds);
      log(`raw baseline, 100 organizations, ${options.seconds}s`);
      const rawManyRun = await rawAppends(db, rawMany, options.seconds);
      log(`HTTP governed writes, 100 organizations, ${options.seconds}s`);
      const httpManyRun = await httpWrites(server, await keyHeaders(httpMany), options.seconds);

      // Anything but 201 would be a write that did not happen: shown, never counted.
      const others = (load: { statuses: Record<string, number> }) =>
        Object.entries(load.statuses).filter(([status]) => status !== '201').map(([status, n]) => `${n}× ${status}`).join(', ') || 'none';
      lines.push('## Governed writes (32 connections)', '', '| case | raw SQL tx/s | HTTP writes/s | ratio | goal | answers other than 201 |', '| --- | --- | --- | --- | --- | --- |');
      for (const [label, raw, http] of [['one organization', rawOneRun, httpOneRun], ['100 organizations', rawManyRun, httpManyRun]] as const) {
        lines.push(`| ${label} | ${raw.perSecond.toFixed(0)} | ${http.perSecond.toFixed(0)} (p99 ${http.p99} ms) | ${(http.perSecond / raw.perSecond).toFixed(2)}x | >= 0.6x | ${others(http)} |`);
      }
      // Where the machine's time went: the two cores are shared by Postgres, the
      // server and the load generator (or the raw script), so a write's total
      // CPU time is what bounds the rate once the cores are busy.
      const µs = (n: number) => n.toFixed(0);
      lines.push('', '### CPU time per write (µs)', '', '| case | Postgres | server | load generator / raw script | total |', '| --- | --- | --- | --- | --- |');
      for (const [label, raw, http] of [['one organization', rawOneRun, httpOneRun], ['100 organizations', rawManyRun, httpManyRun]] as const) {
        lines.push(`| ${label}, raw SQL | ${µs(raw.cpu.postgres)} | - | ${µs(raw.cpu.client)} | ${µs(raw.cpu.postgres + raw.cpu.client)} |`);
        lines.push(`| ${label}, HTTP | ${µs(http.cpu.postgres)} | ${µs(http.cpu.server)} | ${µs(http.cpu.generator)} | ${µs(http.cpu.postgres + http.cpu.server + http.cpu.generator)} |`);
      }
    }
    // --writes-only: the governed writes and nothing else.
    if (options.writesOnly) return void console.log(`\n${lines.join('\n')}\n`);

    const verifyRows = 200_000;
    const [verifyOrg] = await makeOrgs(1, 'verify');
    await bulkChain(db, verifyOrg!, verifyRows, (n) => n % 50_000 === 0 && log(`writing the verification chain: ${n}/${verifyRows}`));
    const verifyHeaders = (await keyHeaders([verifyOrg!]))[0]!;
    let started = performance.now();
    const report = (await (await fetch(`${server.url}/v1/audit-log/verify`, { headers: verifyHeaders })).json()) as { ok: boolean; rowsChecked: number };
    const apiRate = report.rowsChecked / ((performance.now() - started) / 1000);
    const file = path.join(dir, 'verify.jsonl');
    const exported = await fetch(`${server.url}/v1/audit-log/export`, { headers: verifyHeaders });
    await pipeline(Readable.fromWeb(exported.body as never), createWriteStream(file));
    started = performance.now();
    const verdict = await verifyExportFile(file);
    // The export holds the verified rows plus the row recording the export itself.
    const exportedRows = report.rowsChecked + 1;
    const cliRate = exportedRows / ((performance.now() - started) / 1000);
    lines.push('', '## Verification throughput', '', '| path | rows | rows/s | goal |', '| --- | --- | --- | --- |');
    lines.push(`| API GET /v1/audit-log/verify (ok=${report.ok}) | ${report.rowsChecked} | ${apiRate.toFixed(0)} | >= 150,000 |`);
    // No checkpoint given: a sound chain is 'unauthenticated', a broken one 'not-verified'.
    lines.push(`| offline CLI (${verdict.verdict}) | ${exportedRows} | ${cliRate.toFixed(0)} | >= 150,000 |`);

    const exportRows = 1_000_000;
    const [exportOrg] = await makeOrgs(1, 'export');
    await bulkChain(db, exportOrg!, exportRows, (n) => n % 100_000 === 0 && log(`writing the export chain: ${n}/${exportRows}`));
    const exportHeaders = (await keyHeaders([exportOrg!]))[0]!;
    // A fresh server process, so its peak RSS is the export's and not the load
    // test's; mounting only the audit function, with the production flags, as
    // the audit service is deployed (dokploy/functions.ts: FUNCTIONS=audit).
    await server.stop();
    server = await startServerProcess(db, { FUNCTIONS: 'audit' });
    const rssBefore = server.peakRssMb();
    started = performance.now();
    const response = await fetch(`${server.url}/v1/audit-log/export?format=jsonl`, { headers: exportHeaders });
    let bytes = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
    const seconds = (performance.now() - started) / 1000;
    lines.push('', '## Export of 1,000,000 rows (server process with FUNCTIONS=audit, flags of npm run serve)', '', '| rows | MB | seconds | server peak RSS before | server peak RSS after | goal |', '| --- | --- | --- | --- | --- | --- |');
    lines.push(`| ${exportRows + 2} | ${(bytes / 1e6).toFixed(0)} | ${seconds.toFixed(1)} | ${rssBefore.toFixed(0)} MB | ${server.peakRssMb().toFixed(0)} MB | < 150 MB peak |`);
    console.log(`\n${lines.join('\n')}\n`);
  } finally {
    await server.stop();
    await db.close();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
