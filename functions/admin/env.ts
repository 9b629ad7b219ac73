import type { HttpBindings } from '@hono/node-server';
import type { Logger } from 'pino';
import type { OperatorAuth } from '../../auth/operators.ts';
import type { CheckpointSigner } from '../../db/audit/checkpoint.ts';
import type { Operator } from '../../db/admin/console.ts';
import type { Database } from '../../db/tenant.ts';
import type { AddressRange } from '../../middleware/addresses.ts';
import type { HttpConfig } from '../../middleware/config.ts';
import type { SignInLimiter } from '../../middleware/sign-in-limit.ts';

/** What the admin process shares across requests. */
export interface AdminPlatform {
  /** The admin role's connection (beheerder): checked at start-up, refused otherwise. */
  database: Database;
  auth: OperatorAuth;
  config: HttpConfig;
  logger: Logger;
  trustedProxyRanges: AddressRange[];
  /** Password and code attempts per address and account (Better Auth's own limiter covers only its HTTP routes, which are not mounted here). */
  signInLimiter: SignInLimiter;
  /** Signs checkpoints of the platform chain (and of organizations' chains it appends to); the server's audit key. */
  auditSigner?: CheckpointSigner;
}

export interface AdminEnv {
  Bindings: Partial<HttpBindings>;
  Variables: {
    requestId: string;
    admin: AdminPlatform;
    /** The signed-in operator, after the guard: platform operator, second factor checked. */
    operator: Operator & { userId: string; email: string };
  };
}
