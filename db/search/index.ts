import { eq, sql } from 'drizzle-orm';
import { searchChunks, type searchSourceTypes } from '../schema/search.ts';
import type { Tx } from '../tenant.ts';
import { enqueue } from '../jobs/queue.ts';
import { chunkText, type Embedder } from './embedder.ts';

export type SearchSource = { type: (typeof searchSourceTypes)[number]; id: string };

export interface PreparedIndex {
  chunks: string[];
  vectors: number[][];
  model: string;
}

/** Chunks and embeds a source's text: outside any transaction, as the embedder may be a remote service. */
export async function prepareIndex(embedder: Embedder, text: string, chunker: (text: string) => string[] = chunkText): Promise<PreparedIndex> {
  const chunks = chunker(text);
  return { chunks, vectors: chunks.length ? await embedder.embed(chunks) : [], model: embedder.model };
}

/** Removes a source's chunks inside the caller's tenant transaction. */
export async function clearIndex(tx: Tx, source: SearchSource) {
  const column = { decision_event: searchChunks.decisionEventId, support_transcript: searchChunks.transcriptId, helpdesk_article: searchChunks.articleId }[source.type];
  await tx.delete(searchChunks).where(eq(column, source.id));
}

/** Replaces a source's chunks inside the caller's tenant transaction. */
export async function writeIndex(tx: Tx, orgId: string, source: SearchSource, prepared: PreparedIndex) {
  await clearIndex(tx, source);
  if (prepared.chunks.length === 0) return 0;
  await tx.insert(searchChunks).values(
    prepared.chunks.map((content, chunkNo) => ({
      orgId,
      sourceType: source.type,
      decisionEventId: source.type === 'decision_event' ? source.id : null,
      transcriptId: source.type === 'support_transcript' ? source.id : null,
      articleId: source.type === 'helpdesk_article' ? source.id : null,
      chunkNo,
      content,
      embedding: prepared.vectors[chunkNo]!,
      model: prepared.model,
    })),
  );
  return prepared.chunks.length;
}

/** Asks the worker to (re)index a source once the caller's transaction commits. */
export function queueIndex(tx: Tx, source: SearchSource) {
  return enqueue(tx, 'search.index', { type: source.type, id: source.id }, `search.index:${source.type}:${source.id}`);
}

export interface SearchHit {
  source: SearchSource;
  chunkNo: number;
  snippet: string;
  score: number;
  ranks: { text: number | null; vector: number | null };
}

const RRF_K = 60;

/**
 * Hybrid retrieval inside the tenant: full-text ranking and vector similarity,
 * each taking its best candidates, fused by reciprocal rank. Row-level security
 * keeps both to the organization's own chunks.
 */
export interface HybridOptions {
  types: string[];
  limit: number;
  /**
   * Word stems (prefixes), any of which makes a full-text match, instead of
   * plainto_tsquery's every word: a visitor's question rarely has all its
   * words in one passage.
   */
  anyTerms?: string[];
  /**
   * Rank by vector similarity only the best this-many full-text matches,
   * instead of every chunk. For callers that discard passages sharing no
   * words with the query anyway (the widget): a vector-only match could
   * never be used there, and scoring every chunk's vector in SQL is what
   * costs (about 30 us per chunk without pgvector).
   */
  vectorWithinText?: number;
  /** How vectors are compared: see vectorScoring. */
  scoring: VectorScoring;
}

/**
 * Vectors are stored as real[] on every database, so one schema serves all.
 * Where the database has pgvector (db/bootstrap.ts creates it when the server
 * offers it) its inner-product operator scores them; elsewhere a SQL sum over
 * the two arrays does, about 30 us per chunk.
 */
export type VectorScoring = 'pgvector' | 'array';

export async function vectorScoring(tx: Tx): Promise<VectorScoring> {
  const [row] = await tx.execute<{ found: boolean }>(sql`select to_regtype('public.vector') is not null as found`);
  return row!.found ? 'pgvector' : 'array';
}

/** A query's text and its vector, made before any transaction opens (see embedQuery). */
export interface SearchQuery {
  text: string;
  model: string;
  vector: number[];
}

/**
 * Embeds a query. Call it outside any transaction: a remote embedder may take
 * seconds, and a transaction waiting on it holds a pooled connection that
 * every organization's requests share.
 */
export async function embedQuery(embedder: Embedder, text: string): Promise<SearchQuery> {
  const [vector] = await embedder.embed([text]);
  return { text, model: embedder.model, vector: vector! };
}

export async function hybridSearch(tx: Tx, search: SearchQuery, options: HybridOptions) {
  const { text: query, model, vector } = search;
  // As one Postgres array literal: drizzle would expand a JS array into a row.
  const vectorLiteral = `{${vector.join(',')}}`;
  // Chunks embedded by this model at this dimension: pgvector refuses to compare others.
  const comparable = sql`model = ${model} and cardinality(embedding) = ${vector.length}`;
  const candidates = Math.max(50, options.limit * 5);
  const types = sql`${searchChunks.sourceType} in ${options.types}`;
  const terms = (options.anyTerms ?? []).filter((t) => /^[\p{L}\p{N}]+$/u.test(t));
  // Words of three letters or more match as prefixes (stems); shorter ones only
  // as themselves, or "ab ac ad ..." would match nearly every passage.
  // Or'ed with Postgres's own reading of the query (all its words), which splits
  // text exactly as the index did: where the two differ (a letter Postgres does
  // not count as one, "x/bind__" read as a file path) a passage is still found
  // by its own words.
  const textQuery = terms.length
    ? sql`(select to_tsquery('simple', ${terms.map((t) => (t.length >= 3 ? `'${t}':*` : `'${t}'`)).join(' | ')}) || plainto_tsquery('simple', ${query}) as q) as text_query`
    : sql`plainto_tsquery('simple', ${query}) as q`;
  // Inner product either way. pgvector's operator (<#> is its negative) runs in C;
  // the query vector is cast once, as an uncorrelated subquery.
  const similarity =
    options.scoring === 'pgvector'
      ? sql`-(embedding::public.vector operator(public.<#>) (select ${vectorLiteral}::real[]::public.vector))`
      : sql`(select sum(a * b) from unnest(embedding, ${vectorLiteral}::real[]) as t(a, b))`;
  let byText: { id: string }[];
  let byVector: { id: string }[];
  if (options.vectorWithinText) {
    // One pass: the best full-text matches, each with its vector similarity.
    const matches = [
      ...(await tx.execute<{ id: string; similarity: number | null }>(sql`
        select id, case when ${comparable} then ${similarity} end as similarity
        from (select id, embedding, model from search_chunks, ${textQuery}
              where tsv @@ q and ${types}
              order by ts_rank(tsv, q) desc, id limit ${Math.max(candidates, options.vectorWithinText)}) as best`)),
    ];
    byText = matches.slice(0, candidates);
    byVector = matches
      .filter((m) => m.similarity !== null)
      .sort((a, b) => b.similarity! - a.similarity! || (a.id < b.id ? -1 : 1))
      .slice(0, candidates);
  } else {
    byText = await tx.execute<{ id: string }>(sql`
      select id from search_chunks, ${textQuery}
      where tsv @@ q and ${types}
      order by ts_rank(tsv, q) desc, id limit ${candidates}`);
    byVector = await tx.execute<{ id: string }>(sql`
      select id from search_chunks
      where ${types} and ${comparable}
      order by ${similarity} desc nulls last, id
      limit ${candidates}`);
  }
  const scores = new Map<string, { score: number; text: number | null; vector: number | null }>();
  byText.forEach((row, i) => scores.set(row.id, { score: 1 / (RRF_K + i + 1), text: i + 1, vector: null }));
  byVector.forEach((row, i) => {
    const entry = scores.get(row.id) ?? { score: 0, text: null, vector: null };
    scores.set(row.id, { ...entry, score: entry.score + 1 / (RRF_K + i + 1), vector: i + 1 });
  });
  const best = [...scores].sort((a, b) => b[1].score - a[1].score).slice(0, options.limit);
  if (best.length === 0) return [];
  const rows = await tx.execute<{ id: string; source_type: SearchSource['type']; source_id: string; chunk_no: number; snippet: string }>(sql`
    select id, source_type, coalesce(decision_event_id, transcript_id, article_id)::text as source_id, chunk_no,
           ts_headline('simple', content, plainto_tsquery('simple', ${query}), 'MaxWords=30, MinWords=10') as snippet
    from search_chunks where id in ${best.map(([id]) => id)}`);
  const byId = new Map(rows.map((r) => [r.id, r]));
  // Each statement reads committed rows as of its own start: a passage ranked
  // above may have been deleted since (its source deleted, or re-indexed under
  // new ids). It is left out, as it would have been a moment later.
  return best.flatMap(([id, s]): SearchHit[] => {
    const row = byId.get(id);
    if (!row) return [];
    return [{ source: { type: row.source_type, id: row.source_id }, chunkNo: row.chunk_no, snippet: row.snippet, score: Number(s.score.toFixed(6)), ranks: { text: s.text, vector: s.vector } }];
  });
}
