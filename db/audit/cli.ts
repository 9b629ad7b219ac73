import { createReadStream, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { SingleBar } from 'cli-progress';
import { BLANK_LINE, ChainVerifier, checkAgainstCheckpoint } from './chain.ts';
import { verifyCheckpoint, type VerifiedCheckpoint } from './checkpoint.ts';
import { checkExportLines, LINE, type CheckedLines } from './export-lines.ts';
import { verifyPack } from './pack.ts';

/** How much of the file is read and sent to a thread at a time: about 2,000 rows. */
const PIECE_BYTES = 1 << 20;
/** Below this a file is checked on the calling thread: starting workers would cost more than they save. */
const THREADS_FROM_BYTES = 8 * PIECE_BYTES;
const MAX_THREADS = 8;

const USAGE = `usage: kommit-audit verify <export.jsonl> [--checkpoint <note file or note> --public-key <verifier key or file>] [--threads <n>]
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
An export of 8 MB or more is checked on one worker thread per core (at most
${MAX_THREADS}); --threads sets how many (0: none, all on the main thread).
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

/** One worker thread per core for a large file, none for a small one or on a single core. */
function defaultThreads(file: string) {
  let size = 0;
  try {
    size = statSync(file).size;
  } catch {
    // Reading it fails too, and says why (pieces).
  }
  const cores = availableParallelism();
  return size >= THREADS_FROM_BYTES && cores > 1 ? Math.min(cores, MAX_THREADS) : 0;
}

/**
 * The file in pieces of about PIECE_BYTES, each ending just after a line
 * break (the last at the end of the file), so no line and no UTF-8 character
 * is ever split (a byte 0x0A is never inside one); a longer line makes its
 * piece as long. `onProgress` gets the bytes read so far. A byte order mark an
 * editor added is dropped: no export starts with one.
 */
async function* pieces(file: string, pieceBytes: number, onProgress?: (bytes: number) => void): AsyncGenerator<Buffer> {
  let bytes = 0;
  // What was read since the last line break, joined once a break comes: a
  // line longer than a read costs one copy, not one per read.
  let held: Buffer[] = [];
  let first = true;
  const piece = (parts: Buffer[]) => {
    const joined = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (!first) return joined;
    first = false;
    // The first piece holds the whole first line, so a byte order mark is whole in it however the reads fell.
    return joined[0] === 0xef && joined[1] === 0xbb && joined[2] === 0xbf ? joined.subarray(3) : joined;
  };
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: pieceBytes }) as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      onProgress?.(bytes);
      const end = chunk.lastIndexOf(0x0a) + 1;
      if (end === 0) {
        held.push(chunk);
        continue;
      }
      held.push(chunk.subarray(0, end));
      yield piece(held);
      held = end < chunk.length ? [chunk.subarray(end)] : [];
    }
  } catch (error) {
    // The stream's own failure (a folder, no permission, an I/O error), told apart from a bug of ours.
    if ((error as NodeJS.ErrnoException).syscall) throw new InputError(`cannot read ${file}: ${readFailure(error)}`);
    throw error;
  }
  if (held.length) yield piece(held);
}

interface LineChecker {
  check(piece: Buffer): Promise<CheckedLines>;
  /** How many pieces to have under way at once: enough to keep every thread busy, few enough to bound memory. */
  ahead: number;
  close(): Promise<void>;
}

const ON_THIS_THREAD: LineChecker = { check: async (piece) => checkExportLines(piece.toString('utf8')), ahead: 1, close: async () => {} };

/** A worker thread checking pieces, answering in the order it was sent them; once it has failed, it fails whatever it is sent. */
function verifierThread() {
  const worker = new Worker(new URL('./export-lines-worker.ts', import.meta.url));
  const waiting: { resolve: (lines: CheckedLines) => void; reject: (error: unknown) => void }[] = [];
  let failure: unknown;
  const fail = (error: unknown) => {
    failure ??= error;
    for (const pending of waiting.splice(0)) pending.reject(failure);
  };
  worker.on('message', (lines: CheckedLines) => waiting.shift()?.resolve(lines));
  worker.on('error', (error) => fail(new Error(`a verifier thread failed: ${(error as Error).message}`)));
  worker.on('exit', (code) => fail(new Error(`a verifier thread stopped (exit code ${code})`)));
  return {
    worker,
    check(piece: Buffer) {
      if (failure !== undefined) return Promise.reject(failure);
      return new Promise<CheckedLines>((resolve, reject) => {
        waiting.push({ resolve, reject });
        // A copy of its own, handed over rather than copied again (the piece may share memory with the next).
        const bytes = new Uint8Array(piece);
        worker.postMessage({ bytes }, [bytes.buffer]);
      });
    },
  };
}

/**
 * Checks pieces on `threads` worker threads, in turn, or on this thread when
 * `threads` is 0. Where the system will not start that many threads, it uses
 * those it could start, or none.
 */
function lineChecker(threads: number): LineChecker {
  const started: ReturnType<typeof verifierThread>[] = [];
  try {
    while (started.length < threads) started.push(verifierThread());
  } catch {
    // Out of threads (EAGAIN): fewer threads only make it slower.
  }
  if (!started.length) return ON_THIS_THREAD;
  let next = 0;
  return {
    check: (piece) => started[next++ % started.length]!.check(piece),
    ahead: 2 * started.length,
    async close() {
      await Promise.all(started.map(({ worker }) => worker.terminate()));
    },
  };
}

/**
 * Verifies an export file; `onProgress` gets the bytes read so far. Without a
 * checkpoint (and the key to check it) the verdict is at best unauthenticated.
 * Rows are checked on `threads` worker threads (by default one per core for a
 * file of 8 MB or more) and placed in the chain in file order. Throws an
 * InputError when the file cannot be read, or when only one of checkpoint and
 * key is given.
 */
export async function verifyExportFile(
  file: string,
  options: {
    checkpoint?: string;
    publicKey?: string;
    onProgress?: (bytes: number) => void;
    /** Worker threads to check rows on; 0 for none (the default depends on the file's size and the cores). */
    threads?: number;
    /** How much to read at a time (tests make it small, to cut a file into many pieces). */
    pieceBytes?: number;
  } = {},
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
  let lineNumber = 0;
  let orgId: string | undefined;
  let hashAtCheckpoint: string | null = null;
  // Trailing blank lines are an editor's; one before a row is not how an export is written.
  let blankLine: number | undefined;
  /** Places one piece's lines in the chain, in order; a verdict when the piece settles it. */
  function place(lines: CheckedLines): OfflineVerdict | undefined {
    const reasons = new Map(lines.reasons);
    let nextOrg = 0;
    let row = 0;
    for (let i = 0; i < lines.kinds.length; i++) {
      lineNumber++;
      const kind = lines.kinds[i];
      if (kind === LINE.blank) {
        blankLine ??= lineNumber;
        continue;
      }
      if (blankLine !== undefined) return notVerified(`line ${blankLine} ${BLANK_LINE}`);
      if (kind === LINE.notARow) return notVerified(`line ${lineNumber} ${reasons.get(i)}`);
      if (lines.orgs[nextOrg]?.[0] === i) {
        const org = lines.orgs[nextOrg++]![1];
        orgId ??= org;
        if (org !== orgId) return notVerified(`line ${lineNumber} belongs to another organization (${org})`);
      }
      const at = 128 * row++;
      const hash = lines.hashes.slice(at + 64, at + 128);
      const seq = lines.seqs[i]!;
      if (checkpoint && seq === checkpoint.seq) hashAtCheckpoint = hash;
      // A hash that does not match is recomputed as nothing: no stored hash is empty.
      verifier.pushLink({ seq, prev_hash: lines.hashes.slice(at, at + 64), hash, recomputed: lines.hashMatches[i] ? hash : '', invalid: reasons.get(i) });
      if (verifier.failed) return undefined;
    }
    return undefined;
  }

  const checker = lineChecker(options.threads ?? defaultThreads(file));
  try {
    // Pieces are checked ahead, several at once on worker threads, and placed in file order.
    const ahead: Promise<CheckedLines>[] = [];
    const placeOldest = async () => place(await ahead.shift()!);
    for await (const piece of pieces(file, options.pieceBytes ?? PIECE_BYTES, options.onProgress)) {
      const checked = checker.check(piece);
      // Awaited in turn below; until then a failure is nobody's unhandled rejection.
      checked.catch(() => {});
      ahead.push(checked);
      if (ahead.length < checker.ahead) continue;
      const verdict = await placeOldest();
      if (verdict) return verdict;
      if (verifier.failed) break;
    }
    while (ahead.length && !verifier.failed) {
      const verdict = await placeOldest();
      if (verdict) return verdict;
    }
  } finally {
    await checker.close();
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
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { checkpoint: { type: 'string' }, 'public-key': { type: 'string', multiple: true }, threads: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
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
      process.stderr.write(`error: --checkpoint is for verify; verify-pack checks the checkpoints inside the pack under --public-key\n${USAGE}\n`);
      return EXIT.noVerdict;
    }
    if (parsed.values.threads !== undefined) {
      process.stderr.write(`error: --threads is for verify; verify-pack reads a pack on one thread\n${USAGE}\n`);
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
  else if (parsed.values.threads !== undefined && !(/^\d{1,2}$/.test(parsed.values.threads) && Number(parsed.values.threads) <= 64)) {
    mistake = '--threads takes a whole number from 0 (no worker threads) to 64';
  }
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
    const threads = parsed.values.threads === undefined ? undefined : Number(parsed.values.threads);
    verdict = await verifyExportFile(file, { checkpoint, publicKey, threads, onProgress: bar ? (bytes) => bar.update(bytes) : undefined });
  } finally {
    // Before any line, the verdict's or an error's: the cursor back, the bar's line ended.
    bar?.stop();
  }
  process.stdout.write(`${verdict.line}\n`);
  return exitOf(verdict.verdict);
}
