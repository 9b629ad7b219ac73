/**
 * A small HTTP load generator run as its own process (so it does not share the
 * server's event loop): `connections` loops, each sending the next request in
 * round robin over the given header sets, for `seconds`. Loopback only.
 * Input: one JSON argument; output: one JSON line.
 */
const input = JSON.parse(process.argv[2]!) as {
  url: string;
  method: string;
  body?: string;
  headers: Record<string, string>[];
  connections: number;
  seconds: number;
};
if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(input.url)) throw new Error('benchmarks only target this machine');

let sent = 0;
let ok = 0;
const statuses: Record<number, number> = {};
const latencies: number[] = [];
const deadline = Date.now() + input.seconds * 1000;
await Promise.all(
  Array.from({ length: input.connections }, async () => {
    while (Date.now() < deadline) {
      const headers = input.headers[sent++ % input.headers.length]!;
      const started = performance.now();
      const response = await fetch(input.url, { method: input.method, headers, body: input.body });
      await response.arrayBuffer();
      latencies.push(performance.now() - started);
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      if (response.ok) ok++;
    }
  }),
);
latencies.sort((a, b) => a - b);
const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10;
process.stdout.write(JSON.stringify({ ok, perSecond: ok / input.seconds, statuses, p50: at(0.5), p99: at(0.99) }) + '\n');
