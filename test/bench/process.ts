import { spawn, execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestDatabase } from '../cluster.ts';
import { freePort } from '../ports.ts';

const root = path.resolve(import.meta.dirname, '../..');

/** The production build's flags (package.json "serve"), so memory is measured as deployed. */
const NODE_FLAGS = ['--enable-source-maps', '--max-semi-space-size=4', '--max-old-space-size=192'];

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
  return JSON.parse(stdout) as { ok: number; perSecond: number; statuses: Record<string, number>; p50: number; p99: number };
}
