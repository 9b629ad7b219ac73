import { createHmac, generateKeyPairSync } from 'node:crypto';
import { signerFromPem } from '../db/audit/checkpoint.ts';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import pino from 'pino';
import { createOperatorAuth } from '../auth/operators.ts';
import { DEFAULT_ROLES } from '../db/roles.ts';
import { createDatabase } from '../db/tenant.ts';
import { createAdminApp } from '../functions/admin/index.tsx';
import { CLIENT_ADDRESS_HEADER } from '../middleware/addresses.ts';
import { DEFAULT_SIGN_IN_LIMITS, DEFAULT_WEBHOOK_LIMITS, DEFAULT_WIDGET_LIMITS, HTTP_SERVER_OPTIONS, type HttpConfig } from '../middleware/config.ts';
import { NO_REQUEST_LIMITS } from '../middleware/request-limits.ts';
import { createSignInLimiter } from '../middleware/sign-in-limit.ts';
import type { TestDatabase } from './database.ts';

/** The admin console on its own HTTP server on loopback, as `npm run admin` serves it, on the given connection URL. */
/** The audit key test admin consoles sign with (checkpoints every 5 appends, so tests see several). */
export const ADMIN_TEST_SIGNER = signerFromPem(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), {
  keyName: 'kommit-admin-test',
  everyAppends: 5,
  everyMinutes: 60,
});

export async function startAdminServer(db: TestDatabase, connectionUrl = db.adminUrl) {
  const database = createDatabase(connectionUrl, { ca: db.ca, max: 3 });
  let fetcher: (request: Request, env: unknown) => Response | Promise<Response> = () => new Response('starting', { status: 503 });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: (request, env) => fetcher(request, env), port: 0, hostname: '127.0.0.1', serverOptions: HTTP_SERVER_OPTIONS }, () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config: HttpConfig = {
    production: false,
    trustedProxies: [],
    maxBodyBytes: 64 * 1024,
    baseURL: url,
    // Every test signs in from 127.0.0.1: the per-address budget would run out; the per-account one is tested.
    signInLimits: { ...DEFAULT_SIGN_IN_LIMITS, perAddress: 100_000 },
    webhooks: DEFAULT_WEBHOOK_LIMITS,
    requestLimits: NO_REQUEST_LIMITS,
    widget: DEFAULT_WIDGET_LIMITS,
  };
  const close = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await database.close();
  };
  try {
    const auth = createOperatorAuth({ db: database.db, baseURL: url, secret: 'admin-test-secret-long-enough-for-better-auth', production: false, clientIpHeader: CLIENT_ADDRESS_HEADER });
    const app = await createAdminApp({ database, auth, config, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), trustedProxyRanges: [], signInLimiter: createSignInLimiter(config.signInLimits), auditSigner: ADMIN_TEST_SIGNER }, DEFAULT_ROLES);
    fetcher = (request, env) => app.fetch(request, env as Parameters<typeof app.fetch>[1]);
  } catch (error) {
    await close();
    throw error;
  }
  return { url, close };
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * The code an authenticator app shows for a key (RFC 6238: HMAC-SHA1, 30 s, 6
 * digits), written out here so the test does not use the server's own code.
 */
export function totp(base32Secret: string, at = Date.now()) {
  let bits = '';
  for (const char of base32Secret.replace(/=+$/, '').toUpperCase()) bits += BASE32.indexOf(char).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g)!.map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}
