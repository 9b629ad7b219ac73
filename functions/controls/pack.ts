import { strToU8, zipSync, type Zippable } from 'fflate';
import { sql } from 'drizzle-orm';
import { verifierKey, type CheckpointSigner } from '../../db/audit/checkpoint.ts';
import { emitAudit, writeCheckpoint, type AuditContext } from '../../db/audit/emit.ts';
import { PACK_ACTION, PACK_KIND, PACK_PATHS, packReadme, sha256Hex, snapshotSetSha256, type PackManifest } from '../../db/audit/pack.ts';
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

  // The chain head is held from here to COMMIT, so the chain read below is
  // the whole chain before the pack's own row: no append (an evidence
  // collection, say) can come in between, and that row is the exported
  // chain's last.
  const [locked] = await tx.execute<{ seq: string }>(sql`select seq::text as seq from audit_chain_heads where org_id = ${input.audit.orgId} for update`);
  if (!locked) throw new Error(`audit append for ${input.audit.orgId} found no chain head`);
  const before = Number(locked.seq);
  const lines: string[] = [];
  const recorded = new Set<string>();
  let logBytes = 0;
  const exportRows = async (after: number, head: number) => {
    while (after < head) {
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
  };
  await exportRows(0, before);

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

  // The pack's own row records what the pack holds besides the chain:
  // controls.json and the README by their hashes, the snapshots as a set. So
  // the chain (and the checkpoint signed at that row) vouches for every file
  // but the manifest, and the manifest's createdAt is that row's time.
  const controlsText = `${JSON.stringify(input.controls, null, 2)}\n`;
  const readme = packReadme({ orgId: input.audit.orgId, framework: input.framework.framework, version: input.framework.version, title: input.framework.title, from: input.from, to: input.to, seq: before + 1 });
  const own = await emitAudit(tx, input.audit, {
    action: PACK_ACTION,
    targetType: 'control_framework',
    targetId: input.framework.id,
    data: {
      framework: input.framework.framework,
      version: input.framework.version,
      from: input.from,
      to: input.to,
      controlsSha256: sha256Hex(strToU8(controlsText)),
      readmeSha256: sha256Hex(strToU8(readme)),
      snapshotCount: listed.length,
      snapshotIdsSha256: snapshotSetSha256(listed.map((s) => s.id)),
    },
  });
  if (own.seq !== before + 1) throw new Error(`the pack's audit row is seq ${own.seq}, not ${before + 1}: the chain head was not held`);
  await writeCheckpoint(tx, input.audit, own);
  await exportRows(before, own.seq);
  const createdAt = JSON.parse(lines.at(-1)!).occurred_at as string;
  add(PACK_PATHS.auditLog, `${lines.join('\n')}\n`);

  const checkpoints = await tx.execute<{ seq: string; note: string }>(sql`select seq::text as seq, note from audit_checkpoints where seq <= ${own.seq} order by seq`);
  for (const c of checkpoints) add(PACK_PATHS.checkpoint(Number(c.seq)), c.note);
  add(PACK_PATHS.publicKey, `${verifierKey(input.audit.signer)}\n`);

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
  add(PACK_PATHS.readme, readme);
  const manifest: PackManifest = {
    kind: PACK_KIND,
    orgId: input.audit.orgId,
    framework: { framework: input.framework.framework, version: input.framework.version },
    period: { from: input.from, to: input.to },
    createdAt,
    files: Object.entries(files).map(([path, bytes]) => ({ path, sha256: sha256Hex(bytes as Uint8Array), bytes: (bytes as Uint8Array).length })),
  };
  add(PACK_PATHS.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  // Fixed timestamps keep the archive's bytes a function of its content.
  return { zip: zipSync(files, { level: 6, mtime: new Date('2000-01-01T00:00:00Z') }), manifest };
}
