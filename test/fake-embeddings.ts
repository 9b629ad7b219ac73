import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LocalHashEmbedder } from '../db/search/embedder.ts';

export interface FakeEmbeddingsServer {
  url: string;
  /** Every request body received, in order. */
  requests: { model: string; input: string[] }[];
  /** Requests refused because they were not what the API expects. */
  refused: string[];
  /** Makes the next n requests answer with this status. */
  failNext(n: number, status: number): void;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage) {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A local stand-in for an OpenAI-compatible embeddings API. It checks each
 * request as the real one would (path, method, bearer key, JSON body with
 * model and input) and answers with deterministic vectors, so the real client
 * code is what gets exercised.
 */
export async function startFakeEmbeddings(options: { apiKey: string; model: string; dimensions?: number }): Promise<FakeEmbeddingsServer> {
  const vectors = new LocalHashEmbedder(options.dimensions ?? 64);
  const requests: FakeEmbeddingsServer['requests'] = [];
  const refused: string[] = [];
  let failures: { left: number; status: number } = { left: 0, status: 500 };
  const server = createServer(async (request, response) => {
    const refuse = (status: number, reason: string) => {
      refused.push(reason);
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: reason } }));
    };
    if (request.method !== 'POST' || request.url !== '/v1/embeddings') return refuse(404, `${request.method} ${request.url}`);
    if (request.headers.authorization !== `Bearer ${options.apiKey}`) return refuse(401, 'bad api key');
    if (!request.headers['content-type']?.startsWith('application/json')) return refuse(415, 'not json');
    let body: { model?: unknown; input?: unknown };
    try {
      body = JSON.parse(await readBody(request));
    } catch {
      return refuse(400, 'invalid json');
    }
    if (body.model !== options.model) return refuse(404, `unknown model ${String(body.model)}`);
    if (!Array.isArray(body.input) || !body.input.every((t) => typeof t === 'string')) return refuse(400, 'input must be strings');
    const input = body.input as string[];
    requests.push({ model: body.model, input });
    if (failures.left > 0) {
      failures.left--;
      return refuse(failures.status, 'injected failure');
    }
    const embedded = await vectors.embed(input);
    // Out of order on purpose: clients must place vectors by index.
    const data = embedded.map((embedding, index) => ({ object: 'embedding', index, embedding })).reverse();
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', model: options.model, data }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    refused,
    failNext: (n, status) => (failures = { left: n, status }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The local embedder behind a gate, like a remote one that has not answered
 * yet: every embed call waits until answer() is called; waiting() counts them.
 */
export function gatedEmbedder() {
  const local = new LocalHashEmbedder();
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let waiting = 0;
  return {
    embedder: {
      model: local.model,
      dimensions: local.dimensions,
      lexical: true,
      async embed(texts: string[]) {
        waiting++;
        await opened;
        return local.embed(texts);
      },
    },
    waiting: () => waiting,
    answer: () => open(),
  };
}
