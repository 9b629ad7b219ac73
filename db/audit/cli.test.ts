import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH, recordHash, type ChainedRecord } from './chain.ts';
import { InputError, verifyExportFile } from './cli.ts';
import { signCheckpoint, verifierKey } from './checkpoint.ts';
import { PACK_ACTION, PACK_KIND, PACK_PATHS, sha256Hex, snapshotSetSha256 } from './pack.ts';

// The offline verifier runs where no Kommit runs: no database here, a chain
// built by hand and the CLI run as the customer runs it, so an uncaught error
// shows as the stack trace and exit code they would get.
const root = path.resolve(import.meta.dirname, '../..');
const orgId = '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d';
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kommit-audit-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
const kommitAudit = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  new Promise<Run>((resolve) => {
    execFile(process.execPath, ['db/audit/kommit-audit.mjs', ...args], { cwd: root, timeout: 20_000, env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
    );
  });

/** A valid chain of `data` payloads, one row each. */
function chainOf(payloads: unknown[]): ChainedRecord[] {
  let prev = GENESIS_HASH.toString('hex');
  return payloads.map((data, i) => {
    const record = {
      org_id: orgId,
      seq: i + 1,
      occurred_at: `2026-11-26T08:00:0${i}.123456Z`,
      actor_type: 'user',
      actor_id: 'u1',
      action: (data as { action?: string } | null)?.action ?? 'project.create',
      target_type: 'project',
      target_id: `p${i}`,
      request_id: null,
      ip: null,
      data,
      prev_hash: prev,
    };
    prev = recordHash(record).toString('hex');
    return { ...record, hash: prev };
  });
}
const jsonl = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

async function file(name: string, content: string | Uint8Array) {
  const full = path.join(dir, name);
  await writeFile(full, content);
  return full;
}

const signer = (() => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyName: 'kommit-audit', privateKey, publicKey, everyAppends: 100, everyMinutes: 10 };
})();
const publicKey = verifierKey(signer);
const checkpointAt = (record: ChainedRecord) =>
  signCheckpoint(signer, { orgId, seq: record.seq, headHash: Buffer.from(record.hash, 'hex'), time: '2026-11-26T08:00:09Z' });

/** Exactly one line on its stream, and never a stack frame. */
const oneLine = (text: string) => {
  expect(text).toMatch(/^[^\n]+\n$/);
  expect(text).not.toMatch(/\n\s+at /);
};

describe('kommit-audit verify', () => {
  const rows = chainOf([{ n: 1 }, { n: 2 }, { n: 3 }]);

  it('verifies a whole export against a checkpoint kept in a file or passed as the note itself', async () => {
    const exported = await file('good.jsonl', jsonl(rows));
    const note = checkpointAt(rows[1]!);
    const byFile = await kommitAudit(['verify', exported, '--checkpoint', await file('cp.note', note), '--public-key', publicKey]);
    expect(byFile).toMatchObject({ code: 0, stderr: '' });
    expect(byFile.stdout).toBe(`VERIFIED: organization ${orgId}, seq 1 to 3 (3 rows), head hash ${rows[2]!.hash}; matches the signed checkpoint at seq 2 (rows 3 to 3, after it, are covered by no signature given)\n`);
    // "$(cat cp.note)": the shell drops the final newline, the note keeps its inner ones.
    const byText = await kommitAudit(['verify', exported, '--checkpoint', note.trimEnd(), '--public-key', await file('key.txt', `${publicKey}\n`)]);
    expect(byText).toMatchObject({ code: 0, stdout: byFile.stdout });
  });

  it('names a mistyped command or option before the usage (exit 2), and prints the usage alone for --help (exit 0)', async () => {
    for (const [args, first] of [
      [['verfy', 'x.jsonl'], 'error: unknown command "verfy"'],
      [[], 'error: no command'],
      [['verify'], 'error: verify needs a file'],
      [['verify', 'x.jsonl', '--chekpoint', 'c'], "error: Unknown option '--chekpoint'"],
      [['verify', 'x.jsonl', '--checkpoint', 'c', '--public-key', 'a', '--public-key', 'b'], 'error: verify takes one --public-key: the key that signed the checkpoint'],
    ] as const) {
      const run = await kommitAudit([...args]);
      expect(run, args.join(' ')).toMatchObject({ code: 2, stdout: '' });
      expect(run.stderr.split('\n')[0]).toBe(first);
      expect(run.stderr.split('\n')[1]).toMatch(/^usage: kommit-audit verify /);
    }
    for (const flag of ['--help', '-h']) {
      const help = await kommitAudit([flag]);
      expect(help).toMatchObject({ code: 0, stderr: '' });
      expect(help.stdout).toMatch(/^usage: kommit-audit verify /);
    }
  });

  it('says a mistyped checkpoint or key file does not exist (exit 2), instead of checking the path as a note', async () => {
    const exported = await file('good.jsonl', jsonl(rows));
    const missing = path.join(dir, 'checkpiont.note');
    const run = await kommitAudit(['verify', exported, '--checkpoint', missing, '--public-key', publicKey]);
    expect(run).toMatchObject({ code: 2, stdout: '', stderr: `error: --checkpoint: no such file: ${missing}\n` });
    const key = await kommitAudit(['verify', exported, '--checkpoint', await file('cp.note', checkpointAt(rows[1]!)), '--public-key', path.join(dir, 'kye.txt')]);
    expect(key).toMatchObject({ code: 2, stdout: '', stderr: `error: --public-key: no such file: ${path.join(dir, 'kye.txt')}\n` });
  });

  it('says the export is only internally consistent without a checkpoint (exit 3), and refuses a key or a checkpoint given alone (exit 2)', async () => {
    const exported = await file('good.jsonl', jsonl(rows));
    // A key with nothing to check it against was ignored, and the export said VERIFIED.
    for (const [args, first] of [
      [['--public-key', publicKey], 'error: --public-key needs --checkpoint: the key checks a signed checkpoint, and the export alone carries none'],
      [['--checkpoint', await file('cp.note', checkpointAt(rows[1]!))], 'error: --checkpoint needs --public-key to check its signature'],
    ] as const) {
      const run = await kommitAudit(['verify', exported, ...args]);
      expect(run, args[0]).toMatchObject({ code: 2, stdout: '' });
      expect(run.stderr.split('\n')[0]).toBe(first);
      expect(run.stderr.split('\n')[1]).toMatch(/^usage: kommit-audit verify /);
    }
    const alone = await kommitAudit(['verify', exported]);
    expect(alone).toMatchObject({ code: 3, stderr: '' });
    expect(alone.stdout).toMatch(new RegExp(`^UNAUTHENTICATED: internally consistent \\(organization ${orgId}, seq 1 to 3 \\(3 rows\\), head hash ${rows[2]!.hash}\\), but checked against no signed checkpoint.*pass --checkpoint .* and --public-key`));
    oneLine(alone.stdout);
    await expect(verifyExportFile(exported, { publicKey })).rejects.toThrow(InputError);
  });

  it('refuses a folder in one line with the input-error code', async () => {
    const folder = path.join(dir, 'exports');
    await mkdir(folder, { recursive: true });
    const run = await kommitAudit(['verify', folder]);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toMatch(/^error: cannot read .*exports: it is a directory\n$/);
    // Called directly, a read that fails part-way is an input error too, not the stream's raw error.
    await expect(verifyExportFile(folder)).rejects.toThrow(new InputError(`cannot read ${folder}: it is a directory`));
  });

  it('holds every line to the bytes the export writes: an added or repeated key is NOT VERIFIED, naming the line', async () => {
    const lines = jsonl(rows).split('\n');
    const comment = lines[1]!.replace(/}$/, ',"comment":"looks fine"}');
    // JSON.parse keeps the last of a repeated key: the hash sees project.create, a reader may see project.delete.
    const repeated = lines[1]!.replace('"action":"project.create"', '"action":"project.delete","action":"project.create"');
    const spaced = lines[1]!.replace('"seq":2', '"seq": 2');
    for (const line2 of [comment, repeated, spaced]) {
      expect(line2).not.toBe(lines[1]);
      const run = await kommitAudit(['verify', await file('keys.jsonl', [lines[0], line2, ...lines.slice(2)].join('\n'))]);
      expect(run, line2).toMatchObject({ code: 1, stderr: '' });
      expect(run.stdout).toMatch(/^NOT VERIFIED: line 2 is not written as the export writes it/);
    }
    // A blank line before a row is refused, wherever it is; blank lines after the last row are an editor's.
    for (const [at, text] of [[2, [lines[0], '', ...lines.slice(1)]], [1, ['  ', ...lines]], [3, [...lines.slice(0, 2), '\t', lines[2]]]] as const) {
      const run = await kommitAudit(['verify', await file(`blank-${at}.jsonl`, text.join('\n'))]);
      expect(run).toMatchObject({ code: 1, stderr: '' });
      expect(run.stdout).toBe(`NOT VERIFIED: line ${at} is blank: an export has no blank line before its last row\n`);
    }
    expect(await kommitAudit(['verify', await file('trailing.jsonl', `${jsonl(rows)}\n\n \n`)])).toMatchObject({ code: 3 });
    // Line breaks are not part of a line: an export saved with CRLF is still consistent.
    expect(await kommitAudit(['verify', await file('crlf.jsonl', jsonl(rows).replaceAll('\n', '\r\n'))])).toMatchObject({ code: 3 });
  });

  it('says NOT VERIFIED for an empty export, and reads a BOM-prefixed export and a CRLF note as their plain forms', async () => {
    for (const [name, content] of [['empty.jsonl', ''], ['blank.jsonl', ' \n\n\t\n']] as const) {
      const run = await kommitAudit(['verify', await file(name, content)]);
      expect(run, name).toMatchObject({ code: 1, stderr: '' });
      expect(run.stdout).toMatch(/^NOT VERIFIED: the file holds no audit rows/);
    }
    const bom = await kommitAudit(['verify', await file('bom.jsonl', `\uFEFF${jsonl(rows)}`), '--checkpoint', checkpointAt(rows[2]!), '--public-key', publicKey]);
    expect(bom).toMatchObject({ code: 0, stderr: '' });
    expect(bom.stdout).toMatch(/^VERIFIED: organization \S+, seq 1 to 3 \(3 rows\)/);
    const crlfNote = await file('crlf.note', checkpointAt(rows[1]!).replaceAll('\n', '\r\n'));
    const crlf = await kommitAudit(['verify', await file('good.jsonl', jsonl(rows)), '--checkpoint', crlfNote, '--public-key', publicKey]);
    expect(crlf).toMatchObject({ code: 0, stderr: '' });
    expect(crlf.stdout).toMatch(/matches the signed checkpoint at seq 2 \(rows 3 to 3, after it, are covered by no signature given\)\n$/);
  });

  it('gives the same verdict on worker threads as on one thread, with the file cut into many pieces', async () => {
    const many = chainOf(Array.from({ length: 40 }, (_, i) => ({ n: i, note: 'é'.repeat(i % 7) })));
    const lines = jsonl(many).split('\n').slice(0, -1);
    const other = chainOf([{ n: 1 }]).map((r) => ({ ...r, org_id: '7c9e6679-7425-40de-944b-e07fc1f90ae7' }));
    const variants: Record<string, string> = {
      good: jsonl(many),
      'no final line break': jsonl(many).trimEnd(),
      crlf: jsonl(many).replaceAll('\n', '\r\n'),
      bom: `\uFEFF${jsonl(many)}`,
      'trailing blank lines': `${jsonl(many)}\n \n\t\n`,
      'blank line at 31': [...lines.slice(0, 30), '', ...lines.slice(30)].join('\n'),
      'key added at 33': [...lines.slice(0, 32), lines[32]!.replace(/}$/, ',"x":1}'), ...lines.slice(33)].join('\n'),
      'row 25 altered': [...lines.slice(0, 24), lines[24]!.replace('"n":24', '"n":25'), ...lines.slice(25)].join('\n'),
      'row 20 missing': [...lines.slice(0, 19), ...lines.slice(20)].join('\n'),
      'rows 28 and 29 swapped': [...lines.slice(0, 27), lines[28], lines[27], ...lines.slice(29)].join('\n'),
      'lone surrogate at 36': [...lines.slice(0, 35), lines[35]!.replace('"n":35', '"n":"\\ud800"'), ...lines.slice(36)].join('\n'),
      'another organization at 41': `${jsonl(many)}${jsonl(other)}`,
      'not JSON at 12': [...lines.slice(0, 11), '{"org_id":', ...lines.slice(12)].join('\n'),
      'tail cut before a checkpoint': jsonl(many.slice(0, 30)),
    };
    const kept = { checkpoint: checkpointAt(many[34]!), publicKey };
    // A cut-off character after the last line: its bytes are a line of their own, and not JSON.
    const cutCharacter = Buffer.concat([Buffer.from(jsonl(many)), Buffer.from([0xe2, 0x82])]);
    for (const [name, content] of [...Object.entries(variants), ['cut character at 41', cutCharacter] as const]) {
      const exported = await file(`threads-${name.replaceAll(' ', '-')}.jsonl`, content);
      const options = name.includes('checkpoint') ? kept : {};
      const oneThread = await verifyExportFile(exported, { ...options, threads: 0 });
      // Reads of two bytes: a byte order mark is split over two of them.
      expect(await verifyExportFile(exported, { ...options, threads: 0, pieceBytes: 2 }), name).toEqual(oneThread);
      // Pieces of a row or two each, spread over two threads: every row boundary is a piece boundary somewhere.
      expect(await verifyExportFile(exported, { ...options, threads: 2, pieceBytes: 300 }), name).toEqual(oneThread);
      expect(await verifyExportFile(exported, { ...options, threads: 3, pieceBytes: 4096 }), name).toEqual(oneThread);
      const expected = name.startsWith('good') || ['no final line break', 'crlf', 'bom', 'trailing blank lines'].includes(name) ? 'unauthenticated' : 'not-verified';
      expect(oneThread.verdict, name).toBe(expected);
    }
    // What one thread says, for the cases whose line or seq lies far from the first piece.
    const said = async (name: string) => (await verifyExportFile(path.join(dir, `threads-${name.replaceAll(' ', '-')}.jsonl`), { threads: 2, pieceBytes: 300 })).line;
    expect(await said('blank line at 31')).toBe('NOT VERIFIED: line 31 is blank: an export has no blank line before its last row');
    expect(await said('key added at 33')).toMatch(/^NOT VERIFIED: line 33 is not written as the export writes it/);
    expect(await said('row 25 altered')).toMatch(/^NOT VERIFIED: first break at seq 25 \(altered\)/);
    expect(await said('row 20 missing')).toMatch(/^NOT VERIFIED: first break at seq 20 \(missing\)/);
    expect(await said('rows 28 and 29 swapped')).toMatch(/^NOT VERIFIED: first break at seq 29 \(reordered\)/);
    expect(await said('lone surrogate at 36')).toMatch(/^NOT VERIFIED: first break at seq 36 \(altered\): .*not valid canonical JSON/);
    expect(await said('another organization at 41')).toBe('NOT VERIFIED: line 41 belongs to another organization (7c9e6679-7425-40de-944b-e07fc1f90ae7)');
    expect(await said('not JSON at 12')).toBe('NOT VERIFIED: line 12 is not JSON');
    expect(await said('cut character at 41')).toBe('NOT VERIFIED: line 41 is not JSON');
    expect((await verifyExportFile(path.join(dir, 'threads-tail-cut-before-a-checkpoint.jsonl'), { ...kept, threads: 2, pieceBytes: 300 })).line).toMatch(/^NOT VERIFIED: first break at seq 31 \(missing\): rows 31 to 35 are missing/);
    // As the customer runs it: --threads, and the threads load outside tsx.
    const run = await kommitAudit(['verify', path.join(dir, 'threads-good.jsonl'), '--threads', '2', '--checkpoint', kept.checkpoint, '--public-key', publicKey]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^VERIFIED: organization \S+, seq 1 to 40 \(40 rows\)/);
    // A thread that cannot load its code (Node without type stripping) is an error line, not a hang.
    const broken = await kommitAudit(['verify', path.join(dir, 'threads-good.jsonl'), '--threads', '2'], { ...process.env, NODE_OPTIONS: '--no-experimental-strip-types' });
    expect(broken).toMatchObject({ code: 2, stdout: '' });
    expect(broken.stderr).toMatch(/^error: a verifier thread failed: .*\n$/);
    const bad = await kommitAudit(['verify', path.join(dir, 'threads-good.jsonl'), '--threads', 'all']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe('error: --threads takes a whole number from 0 (no worker threads) to 64');
  });

  it('reports a row whose data cannot be canonical JSON (a lone surrogate) as the first break, not a crash', async () => {
    // Postgres jsonb refuses a lone surrogate, so no stored row has one: only an edited export can.
    const tampered = jsonl(rows).replace('{"n":2}', '{"n":"\\ud800"}');
    expect(tampered).toContain('\\ud800');
    const run = await kommitAudit(['verify', await file('surrogate.jsonl', tampered)]);
    expect(run).toMatchObject({ code: 1, stderr: '' });
    expect(run.stdout).toMatch(/^NOT VERIFIED: first break at seq 2 \(altered\): the row at seq 2 .*not valid canonical JSON.*\n$/);
    oneLine(run.stdout);
  });
});

describe('kommit-audit verify-pack', () => {
  const period = { from: '2026-11-01T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' };
  const header = { kind: PACK_KIND, orgId, framework: { framework: 'soc2', version: '2017' }, period };
  const controlId = '5b0c2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d';
  const snapshotId = '7c3f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d';
  const controls = `[{"id":"${controlId}","ref":"CC1.1"}]\n`;
  const readme = '# Kommit evidence pack\n';
  /** The data of the row recording a pack (the last of its chain), whose action chainOf takes from it. */
  const packRow = (snapshotIds: string[] = []) => ({
    action: PACK_ACTION,
    framework: 'soc2',
    version: '2017',
    ...period,
    controlsSha256: sha256Hex(strToU8(controls)),
    readmeSha256: sha256Hex(strToU8(readme)),
    snapshotCount: snapshotIds.length,
    snapshotIdsSha256: snapshotSetSha256(snapshotIds),
  });
  /** A pack's files: payloads chained, then the pack's own row, signed there. */
  const packed = (payloads: unknown[]) => {
    const rows = chainOf([...payloads, packRow()]);
    const last = rows.at(-1)!;
    return {
      [PACK_PATHS.auditLog]: jsonl(rows),
      [PACK_PATHS.controls]: controls,
      [PACK_PATHS.readme]: readme,
      [PACK_PATHS.checkpoint(last.seq)]: checkpointAt(last),
      [PACK_PATHS.publicKey]: `${publicKey}\n`,
    };
  };

  /** A pack with a manifest listing every other file as it is, made at its chain's last row. */
  const pack = (files: Record<string, string>, manifest: (listed: unknown[]) => unknown = (listed) => ({ ...header, createdAt: lastRowTime(files), files: listed })) => {
    const listed = Object.entries(files).map(([p, text]) => ({ path: p, sha256: sha256Hex(strToU8(text)), bytes: strToU8(text).length }));
    return zipSync({ ...Object.fromEntries(Object.entries(files).map(([p, text]) => [p, strToU8(text)])), [PACK_PATHS.manifest]: strToU8(JSON.stringify(manifest(listed))) });
  };
  const lastRowTime = (files: Record<string, string>) => (JSON.parse(files[PACK_PATHS.auditLog]?.trim().split('\n').at(-1) || '{}') as { occurred_at?: string }).occurred_at;

  /** A pack whose chain ends at a checkpoint signed by `by` (unless not `signed`), with `by`'s key inside, as the platform builds it. */
  const signedPack = (by: typeof signer, { signed = true } = {}) => {
    const snapshot = JSON.stringify({ id: snapshotId, orgId, control: { id: controlId }, collectedAt: '2026-11-20T00:00:00.000Z', passed: true });
    const rows = chainOf([{ n: 1 }, { action: 'evidence.collect', snapshots: [{ id: snapshotId, contentHash: sha256Hex(strToU8(snapshot)) }] }, packRow([snapshotId])]);
    const note = signCheckpoint(by, { orgId, seq: 3, headHash: Buffer.from(rows[2]!.hash, 'hex'), time: '2026-11-26T08:00:09Z' });
    return pack({
      [PACK_PATHS.auditLog]: jsonl(rows),
      [PACK_PATHS.controls]: controls,
      [PACK_PATHS.readme]: readme,
      [PACK_PATHS.snapshot(snapshotId)]: snapshot,
      ...(signed ? { [PACK_PATHS.checkpoint(3)]: note } : {}),
      [PACK_PATHS.publicKey]: `${verifierKey(by)}\n`,
    });
  };
  const forger = { ...signer, ...generateKeyPairSync('ed25519') };

  it('verifies a pack under the deployment’s key, and without it says only that the pack is consistent (exit 3)', async () => {
    const genuine = await file('good.zip', signedPack(signer));
    const run = await kommitAudit(['verify-pack', genuine, '--public-key', publicKey]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(
      `VERIFIED: evidence pack of organization ${orgId}, soc2 2017, period ${period.from} to ${period.to}, made 2026-11-26T08:00:02.123456Z: ` +
        '6 files match the manifest; audit chain of 3 rows verifies, signed at its last row (seq 3); README.md, controls.json and 1 snapshot(s) match the chain\n',
    );
    const unpinned = await kommitAudit(['verify-pack', genuine]);
    expect(unpinned).toMatchObject({ code: 3, stderr: '' });
    expect(unpinned.stdout).toMatch(/^UNAUTHENTICATED: internally consistent \(.*\), but checked only against the key inside the pack.*pass --public-key/);
    oneLine(unpinned.stdout);
    // A kept checkpoint is for verify: refused here rather than ignored.
    const withCheckpoint = await kommitAudit(['verify-pack', genuine, '--public-key', publicKey, '--checkpoint', genuine]);
    expect(withCheckpoint).toMatchObject({ code: 2, stdout: '' });
    expect(withCheckpoint.stderr).toMatch(/^error: --checkpoint is for verify/);
  });

  it('refuses a forged pack under the deployment’s key: a key of its own, or no signature over its rows', async () => {
    // Own key, own chain, own checkpoint: consistent, which is all it can be without the real key.
    const forged = await file('forged.zip', signedPack(forger));
    expect(await kommitAudit(['verify-pack', forged])).toMatchObject({ code: 3 });
    const run = await kommitAudit(['verify-pack', forged, '--public-key', publicKey]);
    expect(run).toMatchObject({ code: 1, stderr: '' });
    expect(run.stdout).toContain(`${PACK_PATHS.publicKey}: not the key given to verify the pack with`);
    expect(run.stdout).toContain(`${PACK_PATHS.checkpoint(3)}: the checkpoint is signed with another key (${verifierKey(forger).split('+').slice(0, 2).join('+')}), not with ${publicKey.split('+').slice(0, 2).join('+')}`);
    // The forger's key given as an earlier one: it may vouch for earlier checkpoints, never for the last row.
    const asEarlier = await kommitAudit(['verify-pack', forged, '--public-key', publicKey, '--public-key', verifierKey(forger)]);
    expect(asEarlier).toMatchObject({ code: 1, stderr: '' });
    expect(asEarlier.stdout).toContain(`${PACK_PATHS.checkpoint(3)}: the checkpoint is signed with another key`);
    // The real key copied in, but no checkpoint signed with it.
    const noCheckpoint = await kommitAudit(['verify-pack', await file('unsigned.zip', signedPack(signer, { signed: false })), '--public-key', publicKey]);
    expect(noCheckpoint).toMatchObject({ code: 1, stderr: '' });
    expect(noCheckpoint.stdout).toBe(`NOT VERIFIED: ${PACK_PATHS.checkpoint(3)}: missing: no checkpoint signs the chain's last row (seq 3), so no signature covers the whole chain\n`);
  });

  it('reports a manifest of the wrong shape as NOT VERIFIED, naming what is wrong', async () => {
    for (const files of [[null], [{ path: 7, sha256: 'x', bytes: 1 }], 'all']) {
      const run = await kommitAudit(['verify-pack', await file('manifest.zip', pack(packed([{ n: 1 }]), () => ({ ...header, createdAt: '2026-11-26T08:00:01.123456Z', files })))]);
      expect(run, JSON.stringify(files)).toMatchObject({ code: 1, stderr: '' });
      expect(run.stdout).toMatch(/^NOT VERIFIED: manifest\.json: not an evidence pack manifest \(files.*\)\n$/);
    }
    // A pack of the format before, which recorded neither its README nor its snapshots: refused by name.
    const older = await kommitAudit(['verify-pack', await file('v2.zip', pack(packed([{ n: 1 }]), (listed) => ({ ...header, kind: 'kommit.evidence-pack/v2', files: listed })))]);
    expect(older).toMatchObject({ code: 1, stderr: '' });
    expect(older.stdout).toMatch(/^NOT VERIFIED: manifest\.json: a kommit\.evidence-pack\/v2 pack, whose audit row does not record everything it holds/);
  });

  it('reports an evidence.collect row whose snapshots are not a list as NOT VERIFIED, naming the line', async () => {
    for (const snapshots of ['s1', [null], { id: 's1' }]) {
      const run = await kommitAudit(['verify-pack', await file('collect.zip', pack(packed([{ n: 1 }, { action: 'evidence.collect', snapshots }])))]);
      expect(run, JSON.stringify(snapshots)).toMatchObject({ code: 1, stderr: '' });
      expect(run.stdout).toMatch(/^NOT VERIFIED: audit\/audit-log\.jsonl: line 2 \(seq 2\): the evidence\.collect row does not list its snapshots as \{id, contentHash\}\n$/);
    }
  });

  it('holds every line of the pack’s chain to the bytes the export writes', async () => {
    const log = jsonl(chainOf([{ n: 1 }, { n: 2 }])).replace('{"n":2}', '{"n":2},"comment":"looks fine"');
    const run = await kommitAudit(['verify-pack', await file('comment.zip', pack({ [PACK_PATHS.auditLog]: log }))]);
    expect(run).toMatchObject({ code: 1, stderr: '' });
    expect(run.stdout).toMatch(/^NOT VERIFIED: audit\/audit-log\.jsonl: line 2 is not written as the export writes it/);
  });

  it('reports a lone surrogate in the pack’s chain as a break at that seq', async () => {
    const log = jsonl(chainOf([{ n: 1 }, { n: 2 }])).replace('{"n":2}', '{"\\udfff":2}');
    const run = await kommitAudit(['verify-pack', await file('surrogate.zip', pack({ [PACK_PATHS.auditLog]: log }))]);
    expect(run).toMatchObject({ code: 1, stderr: '' });
    expect(run.stdout).toMatch(/^NOT VERIFIED: audit\/audit-log\.jsonl: first break at seq 2 \(altered\)/);
  });

  it('refuses a folder in one line with the input-error code', async () => {
    const run = await kommitAudit(['verify-pack', dir]);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    oneLine(run.stderr);
  });
});
