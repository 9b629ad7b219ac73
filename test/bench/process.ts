import { spawn, execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestDatabase } from '../cluster.ts';
import { freePort } from '../ports.ts';

const root = path.resolve(import.meta.dirname, '../..');

/** The production build's flags (package.json "serve"), so memory is measured as deployed. */
const NODE_FLAGS = ['--enable-source-maps', '--max-semi-space-size=8', '--max-old-space-size=192'];

/** The production build (`npm run build`, done by the bench runner) in its own process against a benchmark database. */
export async function startServerProcess(db: TestDatabase, env: Record<string, string> = {}) {
  const port = await freePort();
  const caFile = path.join(tmpdir(), `kommit-bench-ca-${port}.pem`);
  writeFileSync(caFile, db.ca);
  // BENCH_SERVER_FLAGS: extra Node flags for the server only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
  const extraFlags = process.env.BENCH_SERVER_FLAGS?.split(/\s+/).filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...NODE_FLAGS, ...extraFlags, 'dist/server.mjs'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: db.appUrl,
      AUTH_DATABASE_URL: db.authUrl,
      ADMIN_DATABASE_URL: db.adminUrl,
      PGSSLROOTCERT: caFile,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DB_POOL_MAX: '32',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    /** CPU time the server process has used so far, in µs. */
    cpuMicros: () => processCpuMicros(child.pid!),
    /** Peak resident set size of the server process so far, in MB (VmHWM). */
    peakRssMb() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.on('exit', resolve));
    },
  };
}

/** Runs http-load.ts in its own process. */
export async function httpLoad(input: { url: string; method: string; body?: string; headers: Record<string, string>[]; connections: number; seconds: number }) {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'http-load.ts'), JSON.stringify(input)], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as { ok: number; perSecond: number; statuses: Record<string, number>; p50: number; p99: number; cpuMicros: number };
}

/** Linux clock ticks per second as /proc counts them (USER_HZ: 100 on every Linux build we run on). */
const TICKS_PER_SECOND = 100;

/** User plus system CPU time of one process so far, in µs (from /proc/<pid>/stat). */
function processCpuMicros(pid: number | string) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / TICKS_PER_SECOND;
}

/**
 * CPU time used so far by every process named postgres on this machine, in µs:
 * the benchmark's own cluster (nothing else runs one while a benchmark does).
 * Backends that ended meanwhile are not counted, so measure across a phase
 * whose connections stay open.
 */
export function postgresCpuMicros() {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') total += processCpuMicros(pid);
    } catch {
      // The process ended while we looked.
    }
  }
  return total;
}
