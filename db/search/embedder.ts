import { createHash } from 'node:crypto';

/** Turns text into vectors. The local one needs no model download and no network. */
export interface Embedder {
  model: string;
  dimensions: number;
  /**
   * True when similar vectors mean shared words and nothing more (the local
   * hashing embedder): then vector ranking among the passages that share a
   * word with the query finds everything a full scan would.
   */
  lexical?: boolean;
  embed(texts: string[]): Promise<number[][]>;
}

/**
 * A remote embedder that did not answer usefully (unreachable, timed out, an
 * error status, a body of the wrong shape): the service's fault, not the
 * request's, so a search answers 503 with Retry-After (middleware/errors.ts).
 */
export class EmbedderUnavailable extends Error {}

const WORD = /[\p{L}\p{N}]+/gu;

/**
 * The words of a text, lower-cased: runs of letters and digits in any script.
 * One definition for embedding, query terms and answering, so a word the
 * embedder counted is the same word the search and the answerer look for.
 */
export const wordsOf = (text: string) => text.toLowerCase().match(WORD) ?? [];

/**
 * Deterministic "hashing trick" embeddings: words and word pairs hashed into a
 * fixed number of signed buckets, L2-normalised. No semantics beyond shared
 * words, but stable, fast and good enough to rank passages that share terms,
 * which is what the default, offline setup needs.
 */
export class LocalHashEmbedder implements Embedder {
  readonly model = 'kommit-hash-ngrams-v1';
  readonly lexical = true;

  constructor(readonly dimensions = 256) {}

  async embed(texts: string[]) {
    return texts.map((text) => this.embedOne(text));
  }

  private embedOne(text: string) {
    const vector = new Array<number>(this.dimensions).fill(0);
    const words = wordsOf(text).slice(0, 5000);
    const features = [...words, ...words.slice(1).map((w, i) => `${words[i]} ${w}`)];
    for (const feature of features) {
      const digest = createHash('sha1').update(feature).digest();
      const bucket = digest.readUInt32BE(0) % this.dimensions;
      vector[bucket]! += digest[4]! & 1 ? 1 : -1;
    }
    const norm = Math.hypot(...vector) || 1;
    return vector.map((v) => v / norm);
  }
}

/** Splits text into passages of about `size` characters, on paragraph and sentence ends. */
export function chunkText(text: string, size = 800): string[] {
  const paragraphs = text.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
  const chunks: string[] = [];
  let current = '';
  for (const paragraph of paragraphs) {
    for (const piece of splitParagraph(paragraph, size)) {
      if (current && current.length + piece.length > size) {
        chunks.push(current.trim());
        current = '';
      }
      current += (current ? '\n\n' : '') + piece;
    }
  }
  if (current.trim()) chunks.push(current.trim());
  return chunks;
}

/**
 * Cuts a paragraph into pieces of at most `size` characters that together are
 * the whole paragraph: at the last whitespace in the second half of each
 * window, else (Chinese text, a long URL) right at the limit, so no text goes
 * unindexed. Each cut scans at most half a window back: linear time.
 */
function splitParagraph(paragraph: string, size: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  while (paragraph.length - start > size) {
    let cut = start + size;
    let space = cut;
    while (space > start + size / 2 && !/\s/.test(paragraph[space]!)) space--;
    if (space > start + size / 2) cut = space;
    // Never between the halves of a surrogate pair (an emoji, a rare CJK character).
    else if (cut - 1 > start && isHighSurrogate(paragraph.charCodeAt(cut - 1))) cut--;
    pieces.push(paragraph.slice(start, cut));
    start = cut;
  }
  pieces.push(paragraph.slice(start));
  return pieces;
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
