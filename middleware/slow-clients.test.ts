import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useTestServer } from '../test/use-server.ts';

const env = useTestServer();

describe('a client that sends its request slowly', () => {
  it('is cut off after the header timeout (10 s) with 408, while others are served meanwhile', { timeout: 30_000 }, async () => {
    const { port } = new URL(env.server.url);
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now())));
    const started = performance.now();
    socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n');
    // A header line every second, never the blank line that ends them.
    const drip = setInterval(() => socket.writable && socket.write(`X-Drip: ${Date.now()}\r\n`), 1000);
    try {
      expect((await fetch(`${env.server.url}/health`)).status).toBe(200);
      const seconds = ((await closed) - started) / 1000;
      expect(seconds).toBeGreaterThanOrEqual(9);
      expect(seconds).toBeLessThan(20);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
  });
});
