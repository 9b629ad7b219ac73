import { createHash } from 'node:crypto';
import { unzipSync } from 'fflate';
import { z } from 'zod';
import { BLANK_LINE, ChainVerifier, checkAgainstCheckpoint, parseExportLine, type ChainedRecord } from './chain.ts';
import { verifyCheckpoint } from './checkpoint.ts';

/**
 * The evidence pack format (a zip), shared by the builder (functions/controls)
 * and the offline verifier (`npx kommit-audit verify-pack`):
 *
 *   manifest.json              kind, organization, framework, period, and every other file with its SHA-256
 *   README.md                  what is inside and how to verify it
 *   controls.json              the framework's controls and their state when the pack was made
 *   snapshots/<id>.json        each evidence snapshot collected in the period, byte for byte as stored
 *   audit/audit-log.jsonl      the audit chain from its first row through the pack's own row (its last)
 *   audit/checkpoints/<seq>.note  the signed checkpoints that export covers, one at its last row
 *   audit/public-key.txt       the verifier key the checkpoints are signed with
 *
 * The manifest alone is not signed; what ties the pack to the platform is the
 * audit chain: it verifies from its first row, matches checkpoints signed with
 * the key, records the content hash of every snapshot it collected, and ends
 * with the row recording this pack (PACK_ACTION: its framework, period and the
 * SHA-256 of controls.json). The key inside the pack proves nothing (anyone can
 * make a key and sign a chain of their own): only a key the verifier obtained
 * out of band authenticates it. v1 packs ended at the period and left
 * controls.json unrecorded; they are refused.
 */
export const PACK_KIND = 'kommit.evidence-pack/v2';
/** The audit action of the row recording a pack, which ends the pack's chain. */
export const PACK_ACTION = 'evidence_pack.create';
export const PACK_PATHS = {
  manifest: 'manifest.json',
  readme: 'README.md',
  controls: 'controls.json',
  auditLog: 'audit/audit-log.jsonl',
  publicKey: 'audit/public-key.txt',
  snapshot: (id: string) => `snapshots/${id}.json`,
  checkpoint: (seq: number) => `audit/checkpoints/${String(seq).padStart(12, '0')}.note`,
};

export interface PackManifest {
  kind: typeof PACK_KIND;
  orgId: string;
  framework: { framework: string; version: string };
  period: { from: string; to: string };
  createdAt: string;
  files: { path: string; sha256: string; bytes: number }[];
}

/**
 * What the verifier reads of a manifest. A pack is untrusted input (the
 * manifest is not signed), so its shape is checked before anything reads it.
 */
const manifestShape = z.object({
  kind: z.literal(PACK_KIND),
  orgId: z.string(),
  framework: z.object({ framework: z.string(), version: z.string() }),
  period: z.object({ from: z.string(), to: z.string() }),
  files: z.array(z.object({ path: z.string(), sha256: z.string(), bytes: z.number() })),
});

/** What the pack's own row records (functions/controls/pack.ts writes it). */
const packRowShape = z.object({ framework: z.string(), version: z.string(), from: z.string(), to: z.string(), controlsSha256: z.string() });

/** The part of an `evidence.collect` row's data the verifier reads (db/controls/collect.ts writes it). */
const collectedShape = z.object({ snapshots: z.array(z.object({ id: z.string(), contentHash: z.string() })) });

/** The first problem zod found, in a few words: "files.0: Invalid input: expected object, received null". */
function firstIssue(error: z.ZodError) {
  const issue = error.issues[0]!;
  return issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export interface PackVerdict {
  /** The pack verified under the key the caller gave. */
  ok: boolean;
  /** 'unauthenticated': no problem found, but no key was given, so the pack was checked only against its own. */
  verdict: 'verified' | 'unauthenticated' | 'not-verified';
  /** One line per problem; each names the file it is about. */
  problems: string[];
  line: string;
}

/**
 * Checks every hash and signature in a pack, offline. Stops at nothing: reports
 * every file that fails. `publicKey` is the platform's verifier key, obtained
 * out of band: the checkpoints must be signed with it and cover the whole
 * chain. Without it the pack can at best be internally consistent.
 */
export function verifyPack(zip: Uint8Array, options: { publicKey?: string } = {}): PackVerdict {
  const problems: string[] = [];
  const pinned = options.publicKey?.trim();
  const done = (summary: string): PackVerdict => {
    if (problems.length) return { ok: false, verdict: 'not-verified', problems, line: `NOT VERIFIED: ${problems.join('; ')}` };
    if (pinned) return { ok: true, verdict: 'verified', problems, line: `VERIFIED: ${summary}` };
    return {
      ok: false,
      verdict: 'unauthenticated',
      problems,
      line:
        `UNAUTHENTICATED: internally consistent (${summary}), but checked only against the key inside the pack, which anyone can make; ` +
        `to verify it, pass --public-key with your deployment's audit key (GET /v1/audit-log/public-key)`,
    };
  };
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch (error) {
    problems.push(`the file is not a readable zip archive (${(error as Error).message})`);
    return done('');
  }
  const text = (path: string) => (files[path] ? Buffer.from(files[path]).toString('utf8') : undefined);
  const manifestText = text(PACK_PATHS.manifest);
  if (manifestText === undefined) {
    problems.push(`${PACK_PATHS.manifest}: missing`);
    return done('');
  }
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(manifestText);
  } catch {
    problems.push(`${PACK_PATHS.manifest}: not JSON`);
    return done('');
  }
  const parsedManifest = manifestShape.safeParse(manifestJson);
  if (!parsedManifest.success) {
    problems.push(`${PACK_PATHS.manifest}: not an evidence pack manifest (${firstIssue(parsedManifest.error)})`);
    return done('');
  }
  const manifest = parsedManifest.data;

  // 1. Every file matches the manifest, and nothing is there the manifest does not list.
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const entry of manifest.files) {
    const bytes = files[entry.path];
    if (!bytes) problems.push(`${entry.path}: listed in the manifest but missing`);
    else if (sha256Hex(bytes) !== entry.sha256) problems.push(`${entry.path}: SHA-256 does not match the manifest (the file was changed)`);
  }
  for (const path of Object.keys(files)) {
    if (path !== PACK_PATHS.manifest && !path.endsWith('/') && !listed.has(path)) problems.push(`${path}: not listed in the manifest`);
  }

  // 2. The audit chain verifies from its first row, and belongs to the pack's organization.
  const verifier = new ChainVerifier();
  const hashes = new Map<number, string>();
  const collected = new Map<string, string>();
  const log = text(PACK_PATHS.auditLog) ?? '';
  let lineNumber = 0;
  let blankLine: number | undefined;
  let lastRecord: ChainedRecord | undefined;
  for (const line of log.split('\n')) {
    lineNumber++;
    if (!line.trim()) {
      blankLine ??= lineNumber;
      continue;
    }
    const record = blankLine === undefined ? parseExportLine(line.endsWith('\r') ? line.slice(0, -1) : line) : BLANK_LINE;
    if (typeof record === 'string') {
      problems.push(`${PACK_PATHS.auditLog}: line ${blankLine ?? lineNumber} ${record}`);
      break;
    }
    if (record.org_id !== manifest.orgId) {
      problems.push(`${PACK_PATHS.auditLog}: line ${lineNumber} belongs to another organization`);
      break;
    }
    hashes.set(record.seq, record.hash);
    lastRecord = record;
    // Each collection recorded the content hash of every snapshot it stored.
    // A row that does not say so in that shape vouches for no snapshot; the
    // chain is still checked, so an edit to the row shows as its break too.
    if (record.action === 'evidence.collect') {
      const collection = collectedShape.safeParse(record.data);
      if (collection.success) for (const s of collection.data.snapshots) collected.set(s.id, s.contentHash);
      else problems.push(`${PACK_PATHS.auditLog}: line ${lineNumber} (seq ${record.seq}): the evidence.collect row does not list its snapshots as {id, contentHash}`);
    }
    verifier.push(record);
  }
  const chain = verifier.finish();
  if (!chain.ok) problems.push(`${PACK_PATHS.auditLog}: first break at seq ${chain.firstBreak!.seq} (${chain.firstBreak!.kind}): ${chain.firstBreak!.detail}`);

  // 3. Every checkpoint is signed by the given key (else the pack's own), is for this organization, and matches the chain.
  const packKey = text(PACK_PATHS.publicKey)?.trim();
  if (pinned && packKey !== pinned) problems.push(`${PACK_PATHS.publicKey}: ${packKey ? 'not the key given to verify the pack with' : 'missing'}`);
  const publicKey = pinned ?? packKey;
  const checkpoints = Object.keys(files).filter((p) => p.startsWith('audit/checkpoints/') && p.endsWith('.note'));
  if (checkpoints.length && !publicKey) problems.push(`${PACK_PATHS.publicKey}: missing, so no checkpoint can be checked`);
  let signedUpTo = 0;
  for (const path of checkpoints) {
    if (!publicKey) break;
    try {
      const checkpoint = verifyCheckpoint(text(path)!, publicKey);
      if (checkpoint.orgId !== manifest.orgId) problems.push(`${path}: signed for another organization`);
      else if (chain.ok) {
        const broken = checkAgainstCheckpoint(chain, checkpoint, hashes.get(checkpoint.seq) ?? null);
        if (broken) problems.push(`${path}: ${broken.detail}`);
        else signedUpTo = Math.max(signedUpTo, checkpoint.seq);
      }
    } catch (error) {
      problems.push(`${path}: ${(error as Error).message}`);
    }
  }
  // Rows after the last signed checkpoint could be anyone's (and vouch for snapshots): the signature must cover the whole chain.
  const last = chain.head?.seq ?? 0;
  if (pinned && chain.ok && last === 0) problems.push(`${PACK_PATHS.auditLog}: holds no rows, so nothing in the pack is signed`);
  else if (pinned && chain.ok && signedUpTo < last) {
    problems.push(`${PACK_PATHS.auditLog}: rows ${signedUpTo + 1} to ${last} are covered by no checkpoint signed with the given key (a pack made after the next checkpoint covers them)`);
  }

  // 4. The chain ends with the row recording this pack, which says what the manifest says and what controls.json holds.
  const own = lastRecord?.action === PACK_ACTION ? packRowShape.safeParse(lastRecord.data) : undefined;
  if (!own?.success) {
    problems.push(`${PACK_PATHS.auditLog}: the chain does not end with the row recording this pack (${PACK_ACTION}, with its framework, period and controls.json hash)`);
  } else {
    const recorded = own.data;
    const stated = { framework: manifest.framework.framework, version: manifest.framework.version, from: manifest.period.from, to: manifest.period.to };
    for (const [name, value] of Object.entries(stated)) {
      if (recorded[name as keyof typeof stated] !== value) problems.push(`${PACK_PATHS.manifest}: ${name} is not what the pack's audit row (seq ${lastRecord!.seq}) records`);
    }
    const controls = files[PACK_PATHS.controls];
    if (!controls) problems.push(`${PACK_PATHS.controls}: missing`);
    else if (sha256Hex(controls) !== recorded.controlsSha256) problems.push(`${PACK_PATHS.controls}: content does not match the hash recorded in the audit chain (seq ${lastRecord!.seq})`);
  }

  // 5. Every snapshot hashes to the content hash the chain recorded for it.
  const snapshotPaths = Object.keys(files).filter((p) => p.startsWith('snapshots/') && p.endsWith('.json'));
  for (const path of snapshotPaths) {
    const id = path.slice('snapshots/'.length, -'.json'.length);
    const recorded = collected.get(id);
    if (!recorded) problems.push(`${path}: no collection in the audit chain records this snapshot`);
    else if (sha256Hex(files[path]!) !== recorded) problems.push(`${path}: content does not match the hash recorded in the audit chain`);
  }

  return done(
    `${manifest.files.length} files match the manifest; audit chain of ${chain.rowsChecked} rows verifies` +
      `${checkpoints.length ? ` and matches ${checkpoints.length} signed checkpoint(s)` : ' (no signed checkpoint in the pack)'}; controls.json and ${snapshotPaths.length} snapshot(s) match the chain`,
  );
}
