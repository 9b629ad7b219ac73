import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequest {
  model: string;
  stream: boolean;
  messages: { role: string; content: string }[];
}

export interface FakeChatServer {
  url: string;
  /** Every accepted request body, in order. */
  requests: ChatRequest[];
  /** Requests refused because they were not what the API expects. */
  refused: string[];
  /** Makes the next n requests answer with this status; or, with 'cut', stop mid-stream. */
  failNext(n: number, how: number | 'cut'): void;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage) {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A local stand-in for an OpenAI-compatible chat completions API. It checks
 * each request as the real one would (path, bearer key, model, message shape)
 * and streams its answer as `data:` events ending in `[DONE]`. The answer
 * quotes the first sentence of the first passage it was given and cites it,
 * so a test can see that the passages, and only they, reached the model.
 */
export async function startFakeChat(options: { apiKey: string; model: string }): Promise<FakeChatServer> {
  const requests: ChatRequest[] = [];
  const refused: string[] = [];
  let failures: { left: number; how: number | 'cut' } = { left: 0, how: 500 };
  const server = createServer(async (request, response) => {
    const refuse = (status: number, reason: string) => {
      refused.push(reason);
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: reason } }));
    };
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') return refuse(404, `${request.method} ${request.url}`);
    if (request.headers.authorization !== `Bearer ${options.apiKey}`) return refuse(401, 'bad api key');
    let body: ChatRequest;
    try {
      body = JSON.parse(await readBody(request));
    } catch {
      return refuse(400, 'invalid json');
    }
    if (body.model !== options.model) return refuse(404, `unknown model ${body.model}`);
    if (!Array.isArray(body.messages) || !body.messages.every((m) => typeof m.role === 'string' && typeof m.content === 'string')) return refuse(400, 'bad messages');
    requests.push(body);
    if (failures.left > 0 && typeof failures.how === 'number') {
      failures.left--;
      return refuse(failures.how, 'injected failure');
    }
    const user = body.messages.find((m) => m.role === 'user')?.content ?? '';
    // The passage's first line repeats its heading; the sentence after it is quoted.
    const first = /\[1\] [^\n]*\n(?:[^\n]*\n\n)?([^.]*\.)/.exec(user)?.[1] ?? 'The passages do not say.';
    const pieces = ['According to the help articles: ', ...first.split(/(?<= )/), ' [1]'];
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const cut = failures.left > 0 && failures.how === 'cut';
    if (cut) failures.left--;
    for (const [i, piece] of pieces.entries()) {
      if (cut && i === 3) {
        // Broken off after what was already sent reached the client.
        await new Promise((resolve) => setTimeout(resolve, 50));
        return void response.destroy();
      }
      response.write(`data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: piece } }] })}\n\n`);
    }
    response.end('data: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    refused,
    failNext: (n, how) => (failures = { left: n, how }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
