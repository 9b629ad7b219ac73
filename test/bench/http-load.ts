import autocannon from 'autocannon';

/**
 * A small HTTP load generator run as its own process (so it does not share the
 * server's event loop): autocannon with `connections` keep-alive connections
 * for `seconds`, each request taking the next header set in round robin across
 * all connections (so 100 organizations' keys are spread evenly over time).
 * autocannon writes prebuilt requests to raw sockets: on a two-core machine the
 * generator's own CPU is taken from the server it measures, and fetch costs
 * several times as much per request. Loopback only.
 * Input: one JSON argument; output: one JSON line (with this process's CPU time).
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
const result = await autocannon({
  url: input.url,
  connections: input.connections,
  duration: input.seconds,
  requests: [
    {
      method: input.method as autocannon.Request['method'],
      body: input.body,
      // Called for every request: the next credential in round robin.
      setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...input.headers[sent++ % input.headers.length]! } }),
    },
  ],
});
// This process's CPU time, start-up included: what the generator took from the machine.
const cpu = process.cpuUsage();
const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([status, { count }]) => [status, count]));
process.stdout.write(
  JSON.stringify({
    ok: result['2xx'],
    perSecond: result['2xx'] / input.seconds,
    statuses,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMicros: cpu.user + cpu.system,
  }) + '\n',
);
