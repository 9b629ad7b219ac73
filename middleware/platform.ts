import type { Logger } from 'pino';
import { createAuth } from '../auth/index.ts';
import type { Database } from '../db/tenant.ts';
import { CLIENT_ADDRESS_HEADER } from './addresses.ts';
import type { HttpConfig } from './config.ts';
import type { Platform } from './env.ts';
import { createSignInLimiter } from './sign-in-limit.ts';

export interface PlatformInput {
  database: Database;
  authDatabase: Database;
  config: HttpConfig;
  logger: Logger;
  authSecret: string;
  functions: string[];
  ready: () => boolean;
}

/** Everything a process shares across requests, built once at start-up. */
export function createPlatform(input: PlatformInput): Platform {
  const { authSecret, ...rest } = input;
  return {
    ...rest,
    auth: createAuth({
      db: input.authDatabase.db,
      baseURL: input.config.baseURL,
      secret: authSecret,
      production: input.config.production,
      clientIpHeader: CLIENT_ADDRESS_HEADER,
    }),
    signInLimiter: createSignInLimiter(input.config.signInLimits),
  };
}
