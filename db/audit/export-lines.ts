import { linkHash, linkOf, parseExportLine } from './chain.ts';

/** What a line of an export is, in CheckedLines.kinds. */
export const LINE = { row: 0, blank: 1, notARow: 2 } as const;

/**
 * The lines of a piece of an export, each checked on its own: plain arrays
 * and strings rather than an object per line, so a worker thread sends them
 * back at little cost (objects are what structured cloning is slow at).
 */
export interface CheckedLines {
  /** LINE.* per line. */
  kinds: Uint8Array;
  /** Per line: a row's seq (0 for other lines). */
  seqs: Float64Array;
  /** Per line: whether a row's recomputed hash is its stored hash. */
  hashMatches: Uint8Array;
  /** Each row's prev_hash and hash (64 hex digits each), one row after the other. */
  hashes: string;
  /** Line index and organization, where the organization differs from the row before's (the first row included). */
  orgs: [number, string][];
  /** Line index and why: a line that is no row, or a row that cannot be hashed (`invalid`). */
  reasons: [number, string][];
}

/** readline's line breaks (\r\n, \n, and a lone \r), so lines are numbered as an editor shows them. */
const LINE_BREAK = /\r\n|\n|\r/;

/**
 * Checks each line of a piece of an export on its own: parsed, held to the
 * bytes the export writes, and hashed, which is nearly all of verification's
 * cost. What depends on earlier lines (seq, links, the organization, blank
 * lines) is left to the caller, which takes the pieces in order. `text` ends
 * with a line break or at the end of the file; a break at its very end starts
 * no further line.
 */
export function checkExportLines(text: string): CheckedLines {
  const lines = text.split(LINE_BREAK);
  if (lines.at(-1) === '') lines.pop();
  const checked: CheckedLines = {
    kinds: new Uint8Array(lines.length),
    seqs: new Float64Array(lines.length),
    hashMatches: new Uint8Array(lines.length),
    hashes: '',
    orgs: [],
    reasons: [],
  };
  const hashes: string[] = [];
  let org: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) {
      checked.kinds[i] = LINE.blank;
      continue;
    }
    const record = parseExportLine(line);
    if (typeof record === 'string') {
      checked.kinds[i] = LINE.notARow;
      checked.reasons.push([i, record]);
      continue;
    }
    const link = linkOf(record);
    const recomputed = 'recomputed' in link ? link.recomputed : linkHash(link.prev_hash, link.canonical);
    checked.seqs[i] = link.seq;
    checked.hashMatches[i] = recomputed === link.hash ? 1 : 0;
    hashes.push(link.prev_hash, link.hash);
    if (link.invalid) checked.reasons.push([i, link.invalid]);
    if (record.org_id !== org) checked.orgs.push([i, (org = record.org_id)]);
  }
  checked.hashes = hashes.join('');
  return checked;
}
