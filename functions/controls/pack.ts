import { strToU8, zipSync, type Zippable } from 'fflate';
import { sql } from 'drizzle-orm';
import { verifierKey, type CheckpointSigner } from '../../db/audit/checkpoint.ts';
import { emitAudit, writeCheckpoint, type AuditContext } from '../../db/audit/emit.ts';
import { PACK_ACTION, PACK_KIND, PACK_PATHS, sha256Hex, type PackManifest } from '../../db/audit/pack.ts';
import { RECORD_COLUMNS, toRecord, type RecordRow } from '../../db/audit/read.ts';
import type { Tx } from '../../db/tenant.ts';
import { ApiError } from '../../middleware/errors.ts';

export const DEFAULT_PACK_MAX_BYTES = 64 * 1024 * 1024;
const PAGE = 5000;
/** About how much snapshot content one query reads. */
const SNAPSHOT_PAGE_BYTES = 4 * 1024 * 1024;

export interface PackInput {
  /** Who makes the pack: its own audit row is written as them, and the checkpoint at that row signed with ctx.signer. */
  audit: AuditContext & { signer: CheckpointSigner };
  framework: { id: string; framework: string; version: string; title: string };
  from: string;
  to: string;
  controls: unknown[];
  maxBytes: number;
  /** Overrides SNAPSHOT_PAGE_BYTES (tests). */
  snapshotPageBytes?: number;
}

const tooBig = (maxBytes: number) =>
  new ApiError('unprocessable', `The pack would exceed ${maxBytes} bytes; ask for a shorter period.`, { extensions: { maxBytes } });

const README = (m: Omit<PackManifest, 'files'>, title: string) => `# Kommit evidence pack

Organization: ${m.orgId}
Framework: ${title} (${m.framework.framework} ${m.framework.version})
Period: ${m.period.from} to ${m.period.to}
Made: ${m.createdAt}

Kommit ships a control library and the evidence behind it; this pack is not a
certification or an attestation.

## What is inside

- manifest.json: every other file with its SHA-256 and size.
- controls.json: the framework's controls, their owner, status and state when the pack was made.
- snapshots/<id>.json: each evidence snapshot collected in the period, exactly as stored
  (canonical JSON: source, parameters, result, pass/fail and the rows it rests on).
- audit/audit-log.jsonl: the organization's audit chain from its first row through the
  row recording this pack (evidence_pack.create: framework, period and the SHA-256 of
  controls.json), its last. The chain only verifies from its first row, and a checkpoint
  signed at its last row means a signature covers it all.
- audit/checkpoints/*.note: signed checkpoints (Ed25519, C2SP signed notes) inside that chain,
  one of them at its last row.
- audit/public-key.txt: the verifier key the checkpoints are signed with. It proves
  nothing by itself: verify with the key your Kommit deployment publishes at
  GET /v1/audit-log/public-key, obtained apart from this pack.

## Verifying it offline

    npx kommit-audit verify-pack <this-file.zip> --public-key '<your deployment's key>'

This checks that every file matches the manifest, that the audit chain verifies row
by row, that each checkpoint carries a valid signature by that key and matches the
chain, that a signed checkpoint covers the chain's last row, that this last row records
this pack's framework, period and controls.json, and that every snapshot hashes to the
content hash the chain recorded when it was collected. It names each file that fails. Rows of the audit log in the period
are those whose occurred_at lies between the dates above.
`;

/** Consecutive runs of items of at most pageBytes together (an item larger than that is a page of its own). */
function* pagesOf<T extends { bytes: number }>(items: T[], pageBytes: number) {
  let page: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (page.length && bytes + item.bytes > pageBytes) {
      yield page;
      page = [];
      bytes = 0;
    }
    page.push(item);
    bytes += item.bytes;
  }
  if (page.length) yield page;
}

/** Builds the zip inside the caller's tenant transaction: row-level security keeps it to one organization. */
export async function buildEvidencePack(tx: Tx, input: PackInput): Promise<{ zip: Uint8Array; manifest: PackManifest }> {
  const files: Zippable = {};
  let total = 0;
  const add = (path: string, content: string) => {
    const bytes = strToU8(content);
    total += bytes.length;
    if (total > input.maxBytes) throw tooBig(input.maxBytes);
    files[path] = bytes;
  };

  // The pack's own audit row comes first and records what controls.json
  // holds, so the chain (and the checkpoint signed at that row) vouches for it
  // as for the snapshots. Nobody can append after it before this transaction
  // ends (it holds the chain head), so it is the exported chain's last row.
  const controlsText = `${JSON.stringify(input.controls, null, 2)}\n`;
  const own = await emitAudit(tx, input.audit, {
    action: PACK_ACTION,
    targetType: 'control_framework',
    targetId: input.framework.id,
    data: { framework: input.framework.framework, version: input.framework.version, from: input.from, to: input.to, controlsSha256: sha256Hex(strToU8(controlsText)) },
  });
  await writeCheckpoint(tx, input.audit, own);
  const head = own.seq;
  const lines: string[] = [];
  const recorded = new Set<string>();
  let logBytes = 0;
  for (let after = 0; after < head; ) {
    const rows = (await tx.execute<RecordRow>(sql`select ${RECORD_COLUMNS} from audit_log where seq > ${after} and seq <= ${head} order by seq limit ${PAGE}`)).map(toRecord);
    if (rows.length === 0) break;
    for (const record of rows) {
      const line = JSON.stringify(record);
      lines.push(line);
      // Checked while reading, so an oversized period stops early instead of filling memory.
      logBytes += Buffer.byteLength(line) + 1;
      if (logBytes > input.maxBytes) throw tooBig(input.maxBytes);
      if (record.action === 'evidence.collect') for (const s of (record.data as { snapshots?: { id: string }[] }).snapshots ?? []) recorded.add(s.id);
    }
    after = rows.at(-1)!.seq;
  }
  add(PACK_PATHS.auditLog, lines.length ? `${lines.join('\n')}\n` : '');

  const checkpoints = await tx.execute<{ seq: string; note: string }>(sql`select seq::text as seq, note from audit_checkpoints where seq <= ${head} order by seq`);
  for (const c of checkpoints) add(PACK_PATHS.checkpoint(Number(c.seq)), c.note);
  add(PACK_PATHS.publicKey, `${verifierKey(input.audit.signer)}\n`);

  // Snapshots of this framework's controls collected in the period whose
  // collection the exported chain records. Sizes first, content never: a
  // period past the budget is refused before any content is read.
  const listed = await tx.execute<{ id: string; bytes: number }>(sql`
    select s.id, octet_length(s.content)::int as bytes
    from evidence_snapshots s
    join controls c on c.org_id = s.org_id and c.id = s.control_id
    join jsonb_array_elements_text(${JSON.stringify([...recorded])}::jsonb) as r(id) on r.id = s.id::text
    where c.framework_id = ${input.framework.id} and s.collected_at >= ${input.from}::timestamptz and s.collected_at <= ${input.to}::timestamptz
    order by s.collected_at, s.id`);
  if (listed.reduce((sum, s) => sum + s.bytes, total) > input.maxBytes) throw tooBig(input.maxBytes);
  // Then the content, a page of about snapshotPageBytes at a time, in the listed order.
  for (const page of pagesOf(listed, input.snapshotPageBytes ?? SNAPSHOT_PAGE_BYTES)) {
    const rows = await tx.execute<{ id: string; content: string }>(
      sql`select id, content from evidence_snapshots where id = any(${`{${page.map((s) => s.id).join(',')}}`}::uuid[])`,
    );
    const content = new Map(rows.map((row) => [row.id, row.content]));
    for (const { id } of page) {
      const text = content.get(id);
      if (text === undefined) throw new Error(`evidence snapshot ${id} disappeared while the pack was built`);
      add(PACK_PATHS.snapshot(id), text);
    }
  }
  add(PACK_PATHS.controls, controlsText);

  const header = {
    kind: PACK_KIND,
    orgId: input.audit.orgId,
    framework: { framework: input.framework.framework, version: input.framework.version },
    period: { from: input.from, to: input.to },
    createdAt: new Date().toISOString(),
  } as const;
  add(PACK_PATHS.readme, README(header, input.framework.title));
  const manifest: PackManifest = {
    ...header,
    files: Object.entries(files).map(([path, bytes]) => ({ path, sha256: sha256Hex(bytes as Uint8Array), bytes: (bytes as Uint8Array).length })),
  };
  add(PACK_PATHS.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  // Fixed timestamps keep the archive's bytes a function of its content.
  return { zip: zipSync(files, { level: 6, mtime: new Date('2000-01-01T00:00:00Z') }), manifest };
}
