import { parentPort } from 'node:worker_threads';
import { checkExportLines } from './export-lines.ts';

/**
 * A worker thread of the offline verifier (db/audit/cli.ts): checks the pieces
 * of an export it is sent, in the order they come, and answers each with its
 * checked lines. Loaded by Node itself (type stripping), not through tsx.
 */
parentPort!.on('message', ({ bytes }: { bytes: Uint8Array }) => {
  const lines = checkExportLines(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  parentPort!.postMessage(lines, [lines.kinds.buffer, lines.seqs.buffer, lines.hashMatches.buffer] as ArrayBuffer[]);
});
