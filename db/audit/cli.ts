import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { ChainVerifier, checkAgainstCheckpoint, looksLikeRecord, type ChainedRecord } from './chain.ts';
import { verifyCheckpoint, type VerifiedCheckpoint } from './checkpoint.ts';
import { verifyPack } from './pack.ts';

const USAGE = `usage: kommit-audit verify <export.jsonl> [--checkpoint <note-file>] [--public-key <verifier key or file>]
       kommit-audit verify-pack <evidence-pack.zip>

verify: checks an audit export offline: every row's hash and link, and (with a
signed checkpoint and the public key) that the export is neither cut off nor
rewritten before the checkpoint.
verify-pack: checks an evidence pack offline: every file against the manifest,
the audit chain inside it, each signed checkpoint, and each snapshot against
the content hash the chain recorded; names every file that fails.
Prints one verdict line; exits 0 when it verifies, 1 when it does not, 2 on bad usage.`;

export interface OfflineVerdict {
  ok: boolean;
  line: string;
}

/** Verifies an export file; `onProgress` gets the bytes read so far. */
export async function verifyExportFile(
  file: string,
  options: { checkpoint?: string; publicKey?: string; onProgress?: (bytes: number) => void } = {},
): Promise<OfflineVerdict> {
  let checkpoint: VerifiedCheckpoint | undefined;
  if (options.checkpoint) {
    if (!options.publicKey) return { ok: false, line: 'error: --checkpoint needs --public-key to check its signature' };
    try {
      checkpoint = verifyCheckpoint(options.checkpoint, options.publicKey);
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
  let lineNumber = 0;
  let orgId: string | undefined;
  let hashAtCheckpoint: string | null = null;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNumber++;
    if (!line.trim()) continue;
    let record: ChainedRecord;
    try {
      record = JSON.parse(line) as ChainedRecord;
    } catch {
      input.destroy();
      return { ok: false, line: `NOT VERIFIED: line ${lineNumber} is not JSON` };
    }
    if (!looksLikeRecord(record)) {
      input.destroy();
      return { ok: false, line: `NOT VERIFIED: line ${lineNumber} is not an audit record` };
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
  const result = verifier.finish();
  const describe = (b: { kind: string; seq: number; detail: string }) => `NOT VERIFIED: first break at seq ${b.seq} (${b.kind}): ${b.detail}`;
  if (!result.ok) return { ok: false, line: describe(result.firstBreak!) };
  if (checkpoint) {
    if (orgId && checkpoint.orgId !== orgId) return { ok: false, line: `NOT VERIFIED: the checkpoint is for organization ${checkpoint.orgId}, the export for ${orgId}` };
    const broken = checkAgainstCheckpoint(result, checkpoint, hashAtCheckpoint);
    if (broken) return { ok: false, line: describe(broken) };
  }
  const head = result.head ? `head seq ${result.head.seq} ${result.head.hash}` : 'empty chain';
  return {
    ok: true,
    line: `VERIFIED: ${result.rowsChecked} rows, ${head}${checkpoint ? `, matches the signed checkpoint at seq ${checkpoint.seq}` : ''}`,
  };
}


function readArgument(value: string) {
  try {
    return readFileSync(value, 'utf8').trim();
  } catch {
    return value;
  }
}

export async function main(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { checkpoint: { type: 'string' }, 'public-key': { type: 'string' }, help: { type: 'boolean' } } });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [command, file] = parsed.positionals;
  if (command === 'verify-pack' && file && !parsed.values.help) {
    let zip: Buffer;
    try {
      zip = readFileSync(file);
    } catch {
      process.stderr.write(`error: cannot read ${file}\n`);
      return 2;
    }
    const verdict = verifyPack(zip);
    process.stdout.write(`${verdict.line}\n`);
    return verdict.ok ? 0 : 1;
  }
  if (parsed.values.help || command !== 'verify' || !file) {
    process.stderr.write(`${USAGE}\n`);
    return parsed.values.help ? 0 : 2;
  }
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    process.stderr.write(`error: cannot read ${file}\n`);
    return 2;
  }
  const bar = process.stderr.isTTY && size > 1_000_000 ? new SingleBar({ format: 'verifying [{bar}] {percentage}% | {value}/{total} bytes', hideCursor: true }) : undefined;
  bar?.start(size, 0);
  const verdict = await verifyExportFile(file, {
    checkpoint: parsed.values.checkpoint ? readArgument(parsed.values.checkpoint) + '\n' : undefined,
    publicKey: parsed.values['public-key'] ? readArgument(parsed.values['public-key']) : undefined,
    onProgress: bar ? (bytes) => bar.update(bytes) : undefined,
  });
  bar?.stop();
  process.stdout.write(`${verdict.line}\n`);
  return verdict.ok ? 0 : 1;
}
