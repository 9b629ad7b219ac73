import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { BLANK_LINE, ChainVerifier, checkAgainstCheckpoint, parseExportLine } from './chain.ts';
import { verifyCheckpoint, type VerifiedCheckpoint } from './checkpoint.ts';
import { verifyPack } from './pack.ts';

const USAGE = `usage: kommit-audit verify <export.jsonl> [--checkpoint <note file or note> --public-key <verifier key or file>]
       kommit-audit verify-pack <evidence-pack.zip> --public-key <verifier key or file> [--public-key <earlier key or file>]...

verify: checks an audit export offline: every row's hash and link, and against a
signed checkpoint you kept (GET /v1/audit-log/checkpoints), checked with your
deployment's audit key (GET /v1/audit-log/public-key), that the export is
neither cut off nor rewritten before it. --checkpoint and --public-key go
together; without both it can only say the export is internally consistent
(UNAUTHENTICATED, exit 3): anyone can write a consistent chain. --checkpoint
takes the signed note itself when the value has a line break in it (a note
always has), and otherwise a file holding it; --public-key takes the key itself
when the value has the key's form (name+keyid+key), and otherwise a file
holding it. A file that does not exist is an error, never read as the note or
key. The VERIFIED line names the organization and the seq range checked.
verify-pack: checks an evidence pack offline: that it holds only the files of a
pack, each once, and each as the manifest lists it; the audit chain inside it;
the checkpoint at the chain's last row signed with the key given by
--public-key (your deployment's audit key, from GET /v1/audit-log/public-key,
never the copy inside the pack), and every other one signed with it agreeing
with the chain; further --public-key values are keys your deployment used
before a rotation, and checkpoints signed with them are checked the same way
(ones signed with a key not given are named, not failed);
that the last row records this pack (framework, period, controls.json, README,
its snapshots); and each snapshot against the content hash the chain recorded;
names every file that fails. The VERIFIED line names the organization,
framework and period: check that they are the ones you expect.
Without --public-key it can only say the pack is internally consistent
(UNAUTHENTICATED, exit 3): anyone can sign a pack with a key of their own.
Both print one verdict line on stdout and exit 0 when it verifies, 1 when it
does not, 3 when it is consistent but unauthenticated; with no verdict (bad
usage, or a file it cannot read) they print an error line on stderr (and the
usage, for bad usage) and exit 2.`;

/** Exit codes, as the usage text states them. */
const EXIT = { verified: 0, notVerified: 1, noVerdict: 2, unauthenticated: 3 } as const;
const exitOf = (verdict: Verdict) => (verdict === 'verified' ? EXIT.verified : verdict === 'unauthenticated' ? EXIT.unauthenticated : EXIT.notVerified);

/** Input the verifier cannot read: no verdict, the input-error exit code. */
export class InputError extends Error {}

/** A file system error in a few words: "no such file", "it is a directory". */
function readFailure(error: unknown) {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return (error as Error).message;
}

/** 'unauthenticated': no problem found, but nothing signed by the platform's key was checked, so it is only internally consistent. */
type Verdict = 'verified' | 'unauthenticated' | 'not-verified';

export interface OfflineVerdict {
  /** Verified against a signed checkpoint under the given key. */
  ok: boolean;
  verdict: Verdict;
  line: string;
}

const notVerified = (line: string): OfflineVerdict => ({ ok: false, verdict: 'not-verified', line: `NOT VERIFIED: ${line}` });

/** Why the checkpoint and key given cannot be used, when only one of them is: they go together. */
function unpaired(options: { checkpoint?: string; publicKey?: string }) {
  if (options.checkpoint !== undefined && options.publicKey === undefined) return '--checkpoint needs --public-key to check its signature';
  if (options.publicKey !== undefined && options.checkpoint === undefined) return '--public-key needs --checkpoint: the key checks a signed checkpoint, and the export alone carries none';
  return undefined;
}

/**
 * Verifies an export file; `onProgress` gets the bytes read so far. Without a
 * checkpoint (and the key to check it) the verdict is at best unauthenticated.
 * Throws an InputError when the file cannot be read, or when only one of
 * checkpoint and key is given.
 */
export async function verifyExportFile(
  file: string,
  options: { checkpoint?: string; publicKey?: string; onProgress?: (bytes: number) => void } = {},
): Promise<OfflineVerdict> {
  const mistake = unpaired(options);
  if (mistake) throw new InputError(mistake);
  let checkpoint: VerifiedCheckpoint | undefined;
  if (options.checkpoint !== undefined) {
    try {
      // A note saved on Windows: the signature covers the body with \n line ends.
      checkpoint = verifyCheckpoint(options.checkpoint.replaceAll('\r\n', '\n'), options.publicKey!);
    } catch (error) {
      return notVerified(`checkpoint rejected: ${(error as Error).message}`);
    }
  }

  const verifier = new ChainVerifier();
  const input = createReadStream(file);
  let bytes = 0;
  input.on('data', (chunk) => {
    bytes += chunk.length;
    options.onProgress?.(bytes);
  });
  // The stream's own failure (a folder, no permission, an I/O error) surfaces
  // in the loop below; remembered here so it is told apart from a bug of ours.
  let readError: unknown;
  input.on('error', (error) => (readError = error));
  let lineNumber = 0;
  let orgId: string | undefined;
  let hashAtCheckpoint: string | null = null;
  // Trailing blank lines are an editor's; one before a row is not how an export is written.
  let blankLine: number | undefined;
  try {
    for await (let line of createInterface({ input, crlfDelay: Infinity })) {
      lineNumber++;
      // A byte order mark an editor added: no export starts with one.
      if (lineNumber === 1 && line.startsWith('\uFEFF')) line = line.slice(1);
      if (!line.trim()) {
        blankLine ??= lineNumber;
        continue;
      }
      const record = blankLine === undefined ? parseExportLine(line) : BLANK_LINE;
      if (typeof record === 'string') {
        input.destroy();
        return notVerified(`line ${blankLine ?? lineNumber} ${record}`);
      }
      orgId ??= record.org_id;
      if (record.org_id !== orgId) {
        input.destroy();
        return notVerified(`line ${lineNumber} belongs to another organization (${record.org_id})`);
      }
      if (checkpoint && record.seq === checkpoint.seq) hashAtCheckpoint = record.hash;
      verifier.push(record);
      if (verifier.failed) {
        input.destroy();
        break;
      }
    }
  } catch (error) {
    if (readError) throw new InputError(`cannot read ${file}: ${readFailure(readError)}`);
    throw error;
  }
  const result = verifier.finish();
  const describe = (b: { kind: string; seq: number; detail: string }) => notVerified(`first break at seq ${b.seq} (${b.kind}): ${b.detail}`);
  if (!result.ok) return describe(result.firstBreak!);
  // Every export holds at least the audit.export row recording it: an empty file is no export.
  if (result.rowsChecked === 0 || !orgId) return notVerified('the file holds no audit rows (every export holds at least its own audit.export row)');
  const head = result.head!;
  const checked = `organization ${orgId}, seq 1 to ${head.seq} (${result.rowsChecked} rows), head hash ${head.hash}`;
  if (!checkpoint) {
    return {
      ok: false,
      verdict: 'unauthenticated',
      line:
        `UNAUTHENTICATED: internally consistent (${checked}), but checked against no signed checkpoint, so nothing shows it is the platform's chain, whole and unrewritten; ` +
        `to verify it, pass --checkpoint with a checkpoint you kept (GET /v1/audit-log/checkpoints) and --public-key with your deployment's audit key (GET /v1/audit-log/public-key)`,
    };
  }
  if (checkpoint.orgId !== orgId) return notVerified(`the checkpoint is for organization ${checkpoint.orgId}, the export for ${orgId}`);
  const broken = checkAgainstCheckpoint(result, checkpoint, hashAtCheckpoint);
  if (broken) return describe(broken);
  const after = head.seq > checkpoint.seq ? ` (rows ${checkpoint.seq + 1} to ${head.seq}, after it, are covered by no signature given)` : '';
  return { ok: true, verdict: 'verified', line: `VERIFIED: ${checked}; matches the signed checkpoint at seq ${checkpoint.seq}${after}` };
}

/**
 * A value that is either the thing itself or a file holding it, told apart by
 * its form alone so a mistyped path is never taken for the thing: `isItself`
 * says when the value is the thing; anything else must be a readable file.
 */
function itselfOrFile(option: string, value: string, isItself: (value: string) => boolean) {
  if (isItself(value)) return value.trim();
  try {
    return readFileSync(value, 'utf8').trim();
  } catch (error) {
    throw new InputError(`${option}: ${readFailure(error)}: ${value}`);
  }
}

// A signed note always has a blank line before its signatures; a path has no line break.
const isNote = (value: string) => value.includes('\n');
// A verifier key is name+keyid+key (C2SP: the name holds no space or '+', the id is 8 hex digits).
const isVerifierKey = (value: string) => /^[^\s+]+\+[0-9a-f]{8}\+\S+$/.test(value.trim());

export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (error) {
    // No verdict: one line, never a stack trace; a verdict's own failures never get here.
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.noVerdict;
  }
}

async function run(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { checkpoint: { type: 'string' }, 'public-key': { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message.split(/\.\s/)[0]!.replace(/\.$/, '')}\n${USAGE}\n`);
    return EXIT.noVerdict;
  }
  const [command, file] = parsed.positionals;
  const keys = parsed.values['public-key'] ?? [];
  // Read (and each checked for the key's form) before any file, so a mistyped one fails at once.
  const readPublicKeys = () => keys.map((key) => itselfOrFile('--public-key', key, isVerifierKey));
  if (command === 'verify-pack' && file && !parsed.values.help) {
    // The pack carries its own checkpoints; a kept one given here would go unread, and silently.
    if (parsed.values.checkpoint !== undefined) {
      process.stderr.write(`--checkpoint is for verify; verify-pack checks the checkpoints inside the pack under --public-key\n${USAGE}\n`);
      return EXIT.noVerdict;
    }
    const [publicKey, ...earlierKeys] = readPublicKeys();
    let zip: Buffer;
    try {
      zip = readFileSync(file);
    } catch (error) {
      throw new InputError(`cannot read ${file}: ${readFailure(error)}`);
    }
    const verdict = verifyPack(zip, { publicKey, earlierKeys });
    process.stdout.write(`${verdict.line}\n`);
    return exitOf(verdict.verdict);
  }
  if (parsed.values.help) {
    // Asked for, so it is the output (as every operator CLI does, db/cli/run.ts).
    process.stdout.write(`${USAGE}\n`);
    return EXIT.verified;
  }
  let mistake: string | undefined;
  if (command === undefined) mistake = 'no command';
  else if (command !== 'verify' && command !== 'verify-pack') mistake = `unknown command "${command}"`;
  else if (!file) mistake = `${command} needs a file`;
  else if (keys.length > 1) mistake = 'verify takes one --public-key: the key that signed the checkpoint';
  else mistake = unpaired({ checkpoint: parsed.values.checkpoint, publicKey: keys[0] });
  if (mistake || !file) {
    process.stderr.write(`error: ${mistake}\n${USAGE}\n`);
    return EXIT.noVerdict;
  }
  // Both read before the export, so a mistyped one fails before minutes of hashing.
  const [publicKey] = readPublicKeys();
  const checkpoint = parsed.values.checkpoint === undefined ? undefined : itselfOrFile('--checkpoint', parsed.values.checkpoint, isNote) + '\n';
  let stats;
  try {
    stats = statSync(file);
  } catch (error) {
    throw new InputError(`cannot read ${file}: ${readFailure(error)}`);
  }
  if (stats.isDirectory()) throw new InputError(`cannot read ${file}: it is a directory`);
  const bar = process.stderr.isTTY && stats.size > 1_000_000 ? new SingleBar({ format: 'verifying [{bar}] {percentage}% | {value}/{total} bytes', hideCursor: true }) : undefined;
  bar?.start(stats.size, 0);
  let verdict: OfflineVerdict;
  try {
    verdict = await verifyExportFile(file, { checkpoint, publicKey, onProgress: bar ? (bytes) => bar.update(bytes) : undefined });
  } finally {
    // Before any line, the verdict's or an error's: the cursor back, the bar's line ended.
    bar?.stop();
  }
  process.stdout.write(`${verdict.line}\n`);
  return exitOf(verdict.verdict);
}
