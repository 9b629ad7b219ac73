import { Webhook } from 'standardwebhooks';

/**
 * Customer systems sending signed webhooks, run as their own process: each of
 * `senders` loops posting a fresh delivery (its own webhook-id, signed with the
 * reference library) for `seconds`. Loopback only. Input: one JSON argument;
 * output: one JSON line.
 */
const input = JSON.parse(process.argv[2]!) as { url: string; secret: string; senders: number; seconds: number };
if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(input.url)) throw new Error('benchmarks only target this machine');

const webhook = new Webhook(input.secret);
let sent = 0;
let stored = 0;
const statuses: Record<number, number> = {};
const latencies: number[] = [];
const deadline = Date.now() + input.seconds * 1000;
await Promise.all(
  Array.from({ length: input.senders }, async (_, sender) => {
    while (Date.now() < deadline) {
      const id = `msg_${sender}_${sent++}`;
      const body = JSON.stringify({ title: `Delivery ${id}`, rationale: 'load test' });
      const at = new Date();
      const started = performance.now();
      const response = await fetch(input.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': webhook.sign(id, at, body),
        },
        body,
      });
      await response.arrayBuffer();
      latencies.push(performance.now() - started);
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      if (response.status === 202) stored++;
    }
  }),
);
latencies.sort((a, b) => a - b);
const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10;
process.stdout.write(JSON.stringify({ stored, perSecond: stored / input.seconds, statuses, p50: at(0.5), p99: at(0.99) }) + '\n');
