import type { HttpBindings } from '@hono/node-server';
import type { Logger } from 'pino';
import type { Database, Tx } from '../db/tenant.ts';
import type { HttpConfig } from './config.ts';

/** What the process shares with every request: set once by createPlatformApp. */
export interface Platform {
  database: Database;
  config: HttpConfig;
  logger: Logger;
  /** Names of the function modules this process serves. */
  functions: string[];
  /** Whether the boot checks passed; /health answers 503 until they have. */
  ready: () => boolean;
}

/** Who made the request: the placeholder credential is an organization-bound API key. */
export interface Principal {
  kind: 'api_key';
  id: string;
}

export interface AppEnv {
  Bindings: Partial<HttpBindings>;
  Variables: {
    requestId: string;
    platform: Platform;
    functionName: string;
    principal: Principal;
    org: { id: string };
    tx: Tx;
  };
}
