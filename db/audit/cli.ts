import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { BLANK_LINE, ChainVerifier, checkAgainstCheckpoint, parseExportLine } from './chain.ts';
import { verifyCheckpoint, type VerifiedCheckpoint } from './checkpoint.ts';
import { verifyPack } from './pack.ts';

const USAGE = `usage: kommit-audit verify <export.jsonl> [--checkpoint <note file or note>] [--public-key <verifier key or file>]
       kommit-audit verify-pack <evidence-pack.zip> --public-key <verifier key or file>

verify: checks an audit export offline: every row's hash and link, and (with a
signed checkpoint and the public key) that the export is neither cut off nor
rewritten before the checkpoint. --checkpoint takes the signed note itself when
the value has a line break in it (a note always has), and otherwise a file
holding it; --public-key takes the key itself when the value has the key's
form (name+keyid+key), and otherwise a file holding it. A file that does not
exist is an error, never read as the note or key.
verify-pack: checks an evidence pack offline: that it holds only the files of a
pack, each once, and each as the manifest lists it; the audit chain inside it;
the checkpoint at the chain's last row signed with the key given by
--public-key (your deployment's audit key, from GET /v1/audit-log/public-key,
never the copy inside the pack), and every other one signed with it agreeing
with the chain (ones signed with a key since rotated are named, not failed);
that the last row records this pack (framework, period, controls.json, README,
its snapshots); and each snapshot against the content hash the chain recorded;
names every file that fails. The VERIFIED line names the organization,
framework and period: check that they are the ones you expect.
Without --public-key it can only say the pack is internally consistent
(UNAUTHENTICATED, exit 3): anyone can sign a pack with a key of their own.
Prints one verdict line on stdout and exits 0 when it verifies, 1 when it does
not; with no verdict (bad usage, or a file it cannot read) it prints one line on
stderr and exits 2.`;

/** Exit codes, as the usage text states them. */
const EXIT = { verified: 0, notVerified: 1, noVerdict: 2, unauthenticated: 3 } as const;

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

export interface OfflineVerdict {
  ok: boolean;
  line: string;
}

/** Verifies an export file; `onProgress` gets the bytes read so far. Throws an InputError when the file cannot be read. */
export async function verifyExportFile(
  file: string,
  options: { checkpoint?: string; publicKey?: string; onProgress?: (bytes: number) => void } = {},
): Promise<OfflineVerdict> {
  let checkpoint: VerifiedCheckpoint | undefined;
  if (options.checkpoint) {
    if (!options.publicKey) return { ok: false, line: 'error: --checkpoint needs --public-key to check its signature' };
    try {
      // A note saved on Windows: the signature covers the body with \n line ends.
      checkpoint = verifyCheckpoint(options.checkpoint.replaceAll('\r\n', '\n'), options.publicKey);
    } catch (error) {
      return { ok: false, line: `NOT VERIFIED: checkpoint rejected: ${(error as Error).message}` };
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
        return { ok: false, line: `NOT VERIFIED: line ${blankLine ?? lineNumber} ${record}` };
      }
      orgId ??= record.org_id;
      if (record.org_id !== orgId) {
        input.destroy();
        return { ok: false, line: `NOT VERIFIED: line ${lineNumber} belongs to another organization (${record.org_id})` };
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
  const describe = (b: { kind: string; seq: number; detail: string }) => `NOT VERIFIED: first break at seq ${b.seq} (${b.kind}): ${b.detail}`;
  if (!result.ok) return { ok: false, line: describe(result.firstBreak!) };
  // Every export holds at least the audit.export row recording it: an empty file is no export.
  if (result.rowsChecked === 0) return { ok: false, line: 'NOT VERIFIED: the file holds no audit rows (every export holds at least its own audit.export row)' };
  if (checkpoint) {
    if (orgId && checkpoint.orgId !== orgId) return { ok: false, line: `NOT VERIFIED: the checkpoint is for organization ${checkpoint.orgId}, the export for ${orgId}` };
    const broken = checkAgainstCheckpoint(result, checkpoint, hashAtCheckpoint);
    if (broken) return { ok: false, line: describe(broken) };
  }
  return {
    ok: true,
    line: `VERIFIED: ${result.rowsChecked} rows, head seq ${result.head!.seq} ${result.head!.hash}${checkpoint ? `, matches the signed checkpoint at seq ${checkpoint.seq}` : ''}`,
  };
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
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { checkpoint: { type: 'string' }, 'public-key': { type: 'string' }, help: { type: 'boolean' } } });
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message.split(/\.\s/)[0]!.replace(/\.$/, '')}\n${USAGE}\n`);
    return EXIT.noVerdict;
  }
  const [command, file] = parsed.positionals;
  const publicKey = parsed.values['public-key'] === undefined ? undefined : itselfOrFile('--public-key', parsed.values['public-key'], isVerifierKey);
  if (command === 'verify-pack' && file && !parsed.values.help) {
    // The pack carries its own checkpoints; a kept one given here would go unread, and silently.
    if (parsed.values.checkpoint !== undefined) {
      process.stderr.write(`--checkpoint is for verify; verify-pack checks the checkpoints inside the pack under --public-key\n${USAGE}\n`);
      return EXIT.noVerdict;
    }
    let zip: Buffer;
    try {
      zip = readFileSync(file);
    } catch (error) {
      throw new InputError(`cannot read ${file}: ${readFailure(error)}`);
    }
    const verdict = verifyPack(zip, { publicKey });
    process.stdout.write(`${verdict.line}\n`);
    return verdict.verdict === 'verified' ? EXIT.verified : verdict.verdict === 'unauthenticated' ? EXIT.unauthenticated : EXIT.notVerified;
  }
  if (parsed.values.help) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.verified;
  }
  if (command !== 'verify' || !file) {
    const wrong = command === undefined ? 'no command' : command !== 'verify' && command !== 'verify-pack' ? `unknown command "${command}"` : `${command} needs a file`;
    process.stderr.write(`error: ${wrong}\n${USAGE}\n`);
    return EXIT.noVerdict;
  }
  if (parsed.values.checkpoint !== undefined && parsed.values['public-key'] === undefined) {
    throw new InputError('--checkpoint needs --public-key to check its signature');
  }
  // Both read before the export, so a mistyped one fails before minutes of hashing.
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
  return verdict.ok ? EXIT.verified : EXIT.notVerified;
}
