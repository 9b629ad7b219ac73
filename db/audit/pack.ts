import { createHash } from 'node:crypto';
import { unzipSync } from 'fflate';
import { z } from 'zod';
import { BLANK_LINE, ChainVerifier, checkAgainstCheckpoint, parseExportLine, type ChainedRecord } from './chain.ts';
import { SignedWithAnotherKey, verifyCheckpoint } from './checkpoint.ts';

/**
 * The evidence pack format (a zip), shared by the builder (functions/controls)
 * and the offline verifier (`npx kommit-audit verify-pack`):
 *
 *   manifest.json              kind, organization, framework, period, time made, and every other file with its SHA-256
 *   README.md                  what is inside and how to verify it (packReadme)
 *   controls.json              the framework's controls and their state when the pack was made
 *   snapshots/<id>.json        each evidence snapshot collected in the period, byte for byte as stored
 *   audit/audit-log.jsonl      the audit chain from its first row through the pack's own row (its last)
 *   audit/checkpoints/<seq>.note  the signed checkpoints that export covers, one at its last row
 *                              (earlier ones may be signed with a key since rotated)
 *   audit/public-key.txt       the verifier key the checkpoints are signed with
 *
 * Nothing else: any other path is refused, and so is a name the zip holds twice.
 *
 * The manifest alone is not signed; what ties the pack to the platform is the
 * audit chain: it verifies from its first row, matches checkpoints signed with
 * the key, records the content hash of every snapshot it collected, and ends
 * with the row recording this pack (PACK_ACTION: its framework, period, the
 * SHA-256 of controls.json and of README.md, and the set of snapshots shipped;
 * the manifest's createdAt is that row's time). So every file but the manifest
 * is vouched for by the chain, and the manifest says nothing the chain does
 * not. The key inside the pack proves nothing (anyone can make a key and sign
 * a chain of their own): only a key the verifier obtained out of band
 * authenticates it. Older packs are refused: v1 ended at the period and left
 * controls.json unrecorded; v2 recorded neither its README nor which snapshots
 * it shipped, so one could be dropped or the README rewritten unseen.
 */
export const PACK_KIND = 'kommit.evidence-pack/v3';
const OLDER_KINDS = ['kommit.evidence-pack/v1', 'kommit.evidence-pack/v2'];
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

/** Every path a pack may hold; the three folders only as the entries some zip tools add for them. */
const FIXED_PATHS = new Set([PACK_PATHS.manifest, PACK_PATHS.readme, PACK_PATHS.controls, PACK_PATHS.auditLog, PACK_PATHS.publicKey, 'snapshots/', 'audit/', 'audit/checkpoints/']);
const SNAPSHOT_PATH = /^snapshots\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.json$/;
const CHECKPOINT_PATH = /^audit\/checkpoints\/\d{12}\.note$/;
const inLayout = (path: string) => FIXED_PATHS.has(path) || SNAPSHOT_PATH.test(path) || CHECKPOINT_PATH.test(path);

/**
 * What the pack's own row records of the snapshots it ships: how many, and the
 * SHA-256 of their ids sorted and joined by line breaks. A digest, not the
 * list: a year of daily collections is thousands of ids, and the row is read
 * in the audit log like any other.
 */
export function snapshotSetSha256(ids: Iterable<string>) {
  return sha256Hex(Buffer.from([...ids].sort().join('\n'), 'utf8'));
}

/**
 * The pack's README. Its SHA-256 is in the pack's own row, written before that
 * row's time is known: so it names the row, whose occurred_at (the manifest's
 * createdAt) is when the pack was made.
 */
export function packReadme(p: { orgId: string; framework: string; version: string; title: string; from: string; to: string; seq: number }) {
  return `# Kommit evidence pack

Organization: ${p.orgId}
Framework: ${p.title} (${p.framework} ${p.version})
Period: ${p.from} to ${p.to}
Recorded: audit row ${p.seq} (${PACK_ACTION}); its occurred_at, also manifest.json's createdAt, is when the pack was made

Kommit ships a control library and the evidence behind it; this pack is not a
certification or an attestation.

## What is inside

- manifest.json: every other file with its SHA-256 and size.
- controls.json: the framework's controls, their owner, status and state when the pack was made.
- snapshots/<id>.json: each evidence snapshot of those controls collected in the period, exactly
  as stored (canonical JSON: source, parameters, result, pass/fail and the rows it rests on).
- audit/audit-log.jsonl: the organization's audit chain from its first row through the
  row recording this pack (${PACK_ACTION}: framework, period, the SHA-256 of controls.json
  and of this README, and the set of snapshots shipped), its last. The chain only verifies
  from its first row, and a checkpoint signed at its last row means a signature covers it all.
- audit/checkpoints/*.note: signed checkpoints (Ed25519, C2SP signed notes) inside that chain,
  one of them at its last row.
- audit/public-key.txt: the verifier key the checkpoints are signed with. It proves
  nothing by itself: verify with the key your Kommit deployment publishes at
  GET /v1/audit-log/public-key, obtained apart from this pack.

Nothing else belongs in the pack: a file added to it fails verification.

## Verifying it offline

    npx kommit-audit verify-pack <this-file.zip> --public-key '<your deployment's key>'

This checks that the pack holds only the files above, each once, and that each matches the
manifest; that the audit chain verifies row by row; that the checkpoint at the chain's last row
carries a valid signature by that key, and that every checkpoint signed with it matches the
chain (one signed with a key the deployment used before is named, not checked); that this
last row records this pack's framework, period, controls.json, README and exactly the
snapshots it holds; that every snapshot hashes to the content hash the chain recorded when it
was collected, was collected in the period and belongs to a control in controls.json. It names
each file that fails. Rows of the audit log in the period are those whose occurred_at lies
between the dates above.
`;
}

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
  createdAt: z.string(),
  files: z.array(z.object({ path: z.string(), sha256: z.string(), bytes: z.number() })),
});

/** What the pack's own row records (functions/controls/pack.ts writes it). */
const packRowShape = z.object({
  framework: z.string(),
  version: z.string(),
  from: z.string(),
  to: z.string(),
  controlsSha256: z.string(),
  readmeSha256: z.string(),
  snapshotCount: z.number(),
  snapshotIdsSha256: z.string(),
});

/** The part of a snapshot the verifier reads (db/controls/collect.ts writes it), once its content hash matched the chain. */
const snapshotShape = z.object({ id: z.string(), orgId: z.string(), control: z.object({ id: z.string() }), collectedAt: z.string() });

/** The part of controls.json the verifier reads: each control's id. */
const controlsShape = z.array(z.object({ id: z.string() }));

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

/** The checkpoint under the first of `keys` that signed it; SignedWithAnotherKey when none did. */
function verifyWithAny(note: string, keys: string[]) {
  let unsigned: SignedWithAnotherKey | undefined;
  for (const key of keys) {
    try {
      return verifyCheckpoint(note, key);
    } catch (error) {
      if (!(error instanceof SignedWithAnotherKey)) throw error;
      unsigned ??= error;
    }
  }
  throw unsigned!;
}

/**
 * Checks every hash and signature in a pack, offline, and reports every file
 * that fails; but a chain that does not verify is reported by its first
 * problem alone, and nothing that rests on the chain is checked then.
 * `publicKey` is the platform's verifier key, obtained out of band: the
 * checkpoint at the chain's last row must be signed with it, and so covers the
 * whole chain; checkpoints signed with it elsewhere must agree with the chain,
 * and ones signed with another key (before a rotation) are checked the same
 * way under `earlierKeys` when one of those signed them, otherwise named in
 * the verdict. Without it the pack can at best be internally consistent. The
 * verdict names the organization, framework and period, so a genuine pack of
 * another customer or period does not pass for the one expected.
 */
export function verifyPack(zip: Uint8Array, options: { publicKey?: string; earlierKeys?: string[] } = {}): PackVerdict {
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
  // Every entry's name, in the archive's order: unzipSync returns an object,
  // where a second entry of the same name silently replaces the first.
  const names: string[] = [];
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, { filter: (entry) => (names.push(entry.name), true) });
  } catch (error) {
    problems.push(`the file is not a readable zip archive (${(error as Error).message})`);
    return done('');
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) problems.push(`${name}: in the zip more than once (a reader could take either copy)`);
    seen.add(name);
  }
  const file = (path: string) => (Object.hasOwn(files, path) ? files[path] : undefined);
  const text = (path: string) => {
    const bytes = file(path);
    return bytes ? Buffer.from(bytes).toString('utf8') : undefined;
  };
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
  const kind = (manifestJson as { kind?: unknown } | null)?.kind;
  if (typeof kind === 'string' && OLDER_KINDS.includes(kind)) {
    problems.push(`${PACK_PATHS.manifest}: a ${kind} pack, whose audit row does not record everything it holds; this verifier checks ${PACK_KIND} packs (make a new pack)`);
    return done('');
  }
  const parsedManifest = manifestShape.safeParse(manifestJson);
  if (!parsedManifest.success) {
    problems.push(`${PACK_PATHS.manifest}: not an evidence pack manifest (${firstIssue(parsedManifest.error)})`);
    return done('');
  }
  const manifest = parsedManifest.data;

  // 1. The pack holds its fixed layout and nothing else; every file matches the manifest, which lists them all.
  for (const path of seen) if (!inLayout(path)) problems.push(`${path}: not part of an evidence pack`);
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const entry of manifest.files) {
    const bytes = file(entry.path);
    if (!bytes) problems.push(`${entry.path}: listed in the manifest but missing`);
    else if (sha256Hex(bytes) !== entry.sha256) problems.push(`${entry.path}: SHA-256 does not match the manifest (the file was changed)`);
  }
  for (const path of seen) {
    if (path !== PACK_PATHS.manifest && !path.endsWith('/') && !listed.has(path) && inLayout(path)) problems.push(`${path}: not listed in the manifest`);
  }

  // 2. The audit chain verifies from its first row, and belongs to the pack's organization.
  // Everything after this rests on a sound chain: once it is not, its first
  // problem is reported and the checks that read it are skipped, since each
  // would only echo the same break.
  const verifier = new ChainVerifier();
  const hashes = new Map<number, string>();
  const collected = new Map<string, string>();
  const rowProblems: string[] = [];
  let chainProblem: string | undefined;
  // A byte order mark an editor added: no export starts with one (kommit-audit verify skips it too).
  const log = (text(PACK_PATHS.auditLog) ?? '').replace(/^\uFEFF/, '');
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
      chainProblem = `${PACK_PATHS.auditLog}: line ${blankLine ?? lineNumber} ${record}`;
      break;
    }
    if (record.org_id !== manifest.orgId) {
      chainProblem = `${PACK_PATHS.auditLog}: line ${lineNumber} belongs to another organization`;
      break;
    }
    hashes.set(record.seq, record.hash);
    lastRecord = record;
    // Each collection recorded the content hash of every snapshot it stored.
    // A row that does not say so in that shape vouches for no snapshot; the
    // chain is still checked, so an edit to the row shows as its break instead.
    if (record.action === 'evidence.collect') {
      const collection = collectedShape.safeParse(record.data);
      if (collection.success) for (const s of collection.data.snapshots) collected.set(s.id, s.contentHash);
      else rowProblems.push(`${PACK_PATHS.auditLog}: line ${lineNumber} (seq ${record.seq}): the evidence.collect row does not list its snapshots as {id, contentHash}`);
    }
    verifier.push(record);
    if (verifier.failed) break;
  }
  const chain = verifier.finish();
  if (!chainProblem && !chain.ok) chainProblem = `${PACK_PATHS.auditLog}: first break at seq ${chain.firstBreak!.seq} (${chain.firstBreak!.kind}): ${chain.firstBreak!.detail}`;
  if (!chainProblem && !chain.head) chainProblem = `${PACK_PATHS.auditLog}: ${file(PACK_PATHS.auditLog) ? 'holds no rows' : 'missing'}`;

  // The key in the pack must be the one given; without one given, the pack's own is all there is to check against.
  const packKey = text(PACK_PATHS.publicKey)?.trim();
  if (pinned && packKey !== pinned) problems.push(`${PACK_PATHS.publicKey}: ${packKey ? 'not the key given to verify the pack with' : 'missing'}`);
  if (chainProblem) {
    problems.push(chainProblem);
    return done('');
  }
  problems.push(...rowProblems);
  const last = chain.head!;

  // 3. The checkpoint at the chain's last row (the pack's own) is signed with
  // the key and says what the chain says: it alone covers every row. Any other
  // checkpoint signed with the key, or with a key given as an earlier one (the
  // deployment's before it rotated), must agree with the chain too; one signed
  // with a key not given is named, not failed: the one at the last row
  // vouches for the rows it covers as well.
  const publicKey = pinned ?? packKey;
  const lastPath = PACK_PATHS.checkpoint(last.seq);
  const checkpoints = [...seen].filter((p) => CHECKPOINT_PATH.test(p)).sort();
  let matched = 0;
  const otherKeys = new Set<string>();
  let signedElsewhere = 0;
  if (!publicKey) problems.push(`${PACK_PATHS.publicKey}: missing, so no checkpoint can be checked`);
  else {
    if (!file(lastPath)) problems.push(`${lastPath}: missing: no checkpoint signs the chain's last row (seq ${last.seq}), so no signature covers the whole chain`);
    for (const path of checkpoints) {
      const named = Number(path.slice('audit/checkpoints/'.length, -'.note'.length));
      try {
        // The last row's checkpoint is signed with the current key, or it fails.
        const checkpoint = verifyWithAny(text(path)!, path === lastPath ? [publicKey] : [publicKey, ...(options.earlierKeys ?? [])]);
        if (checkpoint.orgId !== manifest.orgId) problems.push(`${path}: signed for another organization`);
        else if (checkpoint.seq !== named) problems.push(`${path}: signs seq ${checkpoint.seq}, not the seq its name says`);
        else {
          const broken = checkAgainstCheckpoint(chain, checkpoint, hashes.get(checkpoint.seq) ?? null);
          if (broken) problems.push(`${path}: ${broken.detail}`);
          else matched++;
        }
      } catch (error) {
        if (error instanceof SignedWithAnotherKey && path !== lastPath && error.keys.length) {
          signedElsewhere++;
          for (const key of error.keys) otherKeys.add(key);
        } else problems.push(`${path}: ${(error as Error).message}`);
      }
    }
  }

  // 4. The chain ends with the row recording this pack, which says what the manifest says and what controls.json and README.md hold.
  const own = lastRecord?.action === PACK_ACTION ? packRowShape.safeParse(lastRecord.data) : undefined;
  const snapshotPaths = [...seen].filter((p) => SNAPSHOT_PATH.test(p));
  let controlIds: Set<string> | undefined;
  if (!own?.success) {
    problems.push(`${PACK_PATHS.auditLog}: the chain does not end with the row recording this pack (${PACK_ACTION}, with its framework, period, and what it holds)`);
  } else {
    const recorded = own.data;
    const seq = lastRecord!.seq;
    const stated = { framework: manifest.framework.framework, version: manifest.framework.version, from: manifest.period.from, to: manifest.period.to };
    for (const [name, value] of Object.entries(stated)) {
      if (recorded[name as keyof typeof stated] !== value) problems.push(`${PACK_PATHS.manifest}: ${name} is not what the pack's audit row (seq ${seq}) records`);
    }
    // The time a pack was made is its row's: the manifest only repeats it.
    if (manifest.createdAt !== lastRecord!.occurred_at) problems.push(`${PACK_PATHS.manifest}: createdAt is not the time of the pack's audit row (seq ${seq})`);
    for (const [path, sha256] of [[PACK_PATHS.controls, recorded.controlsSha256], [PACK_PATHS.readme, recorded.readmeSha256]] as const) {
      const bytes = file(path);
      if (!bytes) problems.push(`${path}: missing`);
      else if (sha256Hex(bytes) !== sha256) problems.push(`${path}: content does not match the hash recorded in the audit chain (seq ${seq})`);
      else if (path === PACK_PATHS.controls) {
        const controls = controlsShape.safeParse(parseJson(bytes));
        if (controls.success) controlIds = new Set(controls.data.map((c) => c.id));
        else problems.push(`${path}: not a list of controls with their ids`);
      }
    }
    // Exactly the snapshots the row records: none dropped (a failing one, say), none added.
    const shipped = snapshotPaths.map((p) => SNAPSHOT_PATH.exec(p)![1]!);
    if (shipped.length !== recorded.snapshotCount || snapshotSetSha256(shipped) !== recorded.snapshotIdsSha256) {
      problems.push(
        `snapshots/: the pack holds ${shipped.length} snapshot(s), not the ${recorded.snapshotCount} its audit row (seq ${seq}) records` +
          `${shipped.length === recorded.snapshotCount ? ' (as many, but not the same ones)' : ''}: snapshots were removed or added`,
      );
    }
  }

  // 5. Every snapshot hashes to the content hash the chain recorded for it, and then says it is of a control in controls.json, collected in the period.
  const [from, to] = [Date.parse(manifest.period.from), Date.parse(manifest.period.to)];
  for (const path of snapshotPaths) {
    const id = SNAPSHOT_PATH.exec(path)![1]!;
    const recorded = collected.get(id);
    if (!recorded) problems.push(`${path}: no collection in the audit chain records this snapshot`);
    else if (sha256Hex(file(path)!) !== recorded) problems.push(`${path}: content does not match the hash recorded in the audit chain`);
    else {
      const snapshot = snapshotShape.safeParse(parseJson(file(path)!));
      if (!snapshot.success) problems.push(`${path}: not an evidence snapshot (${firstIssue(snapshot.error)})`);
      else {
        const { data } = snapshot;
        const at = Date.parse(data.collectedAt);
        if (data.id !== id || data.orgId !== manifest.orgId) problems.push(`${path}: the snapshot inside is ${data.id} of organization ${data.orgId}`);
        if (!(at >= from && at <= to)) problems.push(`${path}: collected at ${data.collectedAt}, outside the pack's period`);
        if (controlIds && !controlIds.has(data.control.id)) problems.push(`${path}: its control ${data.control.id} is not in ${PACK_PATHS.controls}`);
      }
    }
  }

  const earlier = matched - 1;
  return done(
    `evidence pack of organization ${manifest.orgId}, ${manifest.framework.framework} ${manifest.framework.version}, ` +
      `period ${manifest.period.from} to ${manifest.period.to}, made ${manifest.createdAt}: ` +
      `${manifest.files.length} files match the manifest; audit chain of ${chain.rowsChecked} rows verifies, signed at its last row (seq ${last.seq})` +
      `${earlier > 0 ? ` and at ${earlier} earlier checkpoint(s)` : ''}; README.md, controls.json and ${snapshotPaths.length} snapshot(s) match the chain` +
      `${signedElsewhere ? `; ${signedElsewhere} earlier checkpoint(s) signed with another key (${[...otherKeys].join(', ')}) not checked (that key was not given as an earlier one): the one at the last row covers those rows too` : ''}`,
  );
}

/** JSON of a file, or undefined when it is none (then its shape check fails). */
function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}
