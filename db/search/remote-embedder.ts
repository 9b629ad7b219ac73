import { z } from 'zod';
import { EmbedderUnavailable, LocalHashEmbedder, type Embedder } from './embedder.ts';
import { wholeNumberSetting } from '../settings.ts';

const embeddingsResponse = z.object({
  data: z.array(z.object({ index: z.number().int().nonnegative(), embedding: z.array(z.number()) })),
});

export interface RemoteEmbedderOptions {
  /** Base URL of an OpenAI-compatible API, e.g. https://provider.example/v1; we POST to `${url}/embeddings`. */
  url: string;
  model: string;
  apiKey?: string;
  /** Asked of models that can shorten their vectors; otherwise whatever the model returns. */
  dimensions?: number;
  /** Texts per request (default 64). */
  batchSize?: number;
  timeoutMs?: number;
}

/** Embeddings from an OpenAI-compatible `/embeddings` endpoint. */
export class RemoteEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;

  constructor(private readonly options: RemoteEmbedderOptions) {
    this.model = options.model;
    this.dimensions = options.dimensions ?? 0;
  }

  async embed(texts: string[]) {
    const batch = this.options.batchSize ?? 64;
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += batch) {
      vectors.push(...(await this.request(texts.slice(start, start + batch))));
    }
    return vectors;
  }

  private async request(input: string[]) {
    const response = await fetch(`${this.options.url.replace(/\/+$/, '')}/embeddings`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
      },
      body: JSON.stringify({
        model: this.options.model,
        input,
        encoding_format: 'float',
        ...(this.options.dimensions ? { dimensions: this.options.dimensions } : {}),
      }),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    }).catch((error: unknown) => {
      throw new EmbedderUnavailable(`embeddings endpoint unreachable: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    });
    if (!response.ok) {
      // The body may echo our input; the status is enough to act on.
      throw new EmbedderUnavailable(`embeddings endpoint answered ${response.status}`);
    }
    const parsed = embeddingsResponse.safeParse(await response.json().catch(() => null));
    if (!parsed.success || parsed.data.data.length !== input.length) {
      throw new EmbedderUnavailable('embeddings endpoint returned an unexpected body');
    }
    const vectors = new Array<number[]>(input.length);
    for (const item of parsed.data.data) vectors[item.index] = item.embedding;
    if (vectors.some((v) => !v || (this.options.dimensions && v.length !== this.options.dimensions))) {
      throw new EmbedderUnavailable('embeddings endpoint returned vectors of the wrong shape');
    }
    return vectors;
  }
}

/**
 * The embedder this process uses: the built-in local one unless EMBEDDINGS_URL
 * and EMBEDDINGS_MODEL name an OpenAI-compatible endpoint.
 */
export function embedderFromEnv(env: NodeJS.ProcessEnv = process.env): Embedder {
  if (!env.EMBEDDINGS_URL) return new LocalHashEmbedder();
  if (!env.EMBEDDINGS_MODEL) throw new Error('EMBEDDINGS_MODEL must be set along with EMBEDDINGS_URL');
  return new RemoteEmbedder({
    url: env.EMBEDDINGS_URL,
    model: env.EMBEDDINGS_MODEL,
    apiKey: env.EMBEDDINGS_API_KEY?.trim() || undefined,
    dimensions: wholeNumberSetting(env, 'EMBEDDINGS_DIMENSIONS', undefined, { min: 1 }),
  });
}
