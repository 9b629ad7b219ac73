import type { HttpBindings } from '@hono/node-server';
import type { Logger } from 'pino';
import type { Auth } from '../auth/index.ts';
import type { AddressRange } from './addresses.ts';
import type { CheckpointSigner } from '../db/audit/checkpoint.ts';
import type { RateLimiterMemory } from 'rate-limiter-flexible';
import type { SecretBox } from '../db/secret-box.ts';
import type { Answerer } from '../db/search/answerer.ts';
import type { Embedder } from '../db/search/embedder.ts';
import type { VectorScoring } from '../db/search/index.ts';
import type { MemberRole } from '../db/member-roles.ts';
import type { Database, Tx } from '../db/tenant.ts';
import type { HttpConfig } from './config.ts';
import type { Metrics } from './metrics.ts';
import type { RequestLimiters } from './request-limits.ts';
import type { SignInLimiter } from './sign-in-limit.ts';

/** What the process shares with every request: set once by createPlatformApp. */
export interface Platform {
  /** kommit_app: every tenant read and write goes through its withTenant. */
  database: Database;
  /** kommit_auth: Better Auth's connection, also used to clear stale session claims. */
  authDatabase: Database;
  auth: Auth;
  config: HttpConfig;
  /** config.trustedProxies, parsed once. */
  trustedProxyRanges: AddressRange[];
  logger: Logger;
  signInLimiter: SignInLimiter;
  /** Per-address, per-key and per-user request budgets. */
  requestLimiters: RequestLimiters;
  /** Prometheus metrics of this process. */
  metrics: Metrics;
  /** Seals and opens secrets stored in the database (webhook signing secrets). */
  secretBox: SecretBox;
  /** Per-endpoint budget of inbound webhook deliveries whose signature verified. */
  webhookLimiter: RateLimiterMemory;
  /** Per client address and endpoint: deliveries whose signature did not verify (or whose endpoint is unknown). */
  webhookFailureLimiter: RateLimiterMemory;
  /** Budgets of the chat widget's public API: per widget key and per visitor. */
  widgetLimiters: { perKey: RateLimiterMemory; perVisitor: RateLimiterMemory; startsPerAddress: RateLimiterMemory; questionsPerAddress: RateLimiterMemory };
  /** HMAC key of widget visitor tokens (derived from the secret-sealing key). */
  widgetTokenKey: Buffer;
  /** Composes the widget's answers from retrieved passages (extractive unless ANSWER_URL is set). */
  answerer: Answerer;
  /** Turns tenant text into vectors for the search index. */
  embedder: Embedder;
  /**
   * How search compares vectors on this database: pgvector where it has the
   * extension. Asked once, in the caller's transaction (a second connection
   * could wait on a pool its caller helps fill).
   */
  vectorScoring: (tx: Tx) => Promise<VectorScoring>;
  /** Signs audit checkpoints; absent only where no key is configured (then none are signed). */
  auditSigner?: CheckpointSigner;
  /** The public key of the platform's own helpdesk widget, shown on console pages (npm start on the embedded default). */
  platformWidgetKey?: string;
  /** Names of the function modules this process serves. */
  functions: string[];
  /** Whether the boot checks passed; /health answers 503 until they have. */
  ready: () => boolean;
}

/** Who made the request. */
export type Principal =
  | { kind: 'api_key'; id: string }
  | { kind: 'session'; userId: string; sessionId: string; email: string; name: string };

/** A member's effective role (db/member-roles.ts turns the stored role string into it). */
export type { MemberRole };

export interface AppEnv {
  Bindings: Partial<HttpBindings>;
  Variables: {
    requestId: string;
    platform: Platform;
    functionName: string;
    principal: Principal;
    /** An API key's SHA-256, resolved by the tenant transaction's first statement. */
    apiKeyHash: Buffer | undefined;
    org: { id: string };
    /** The caller's role in the organization, checked live; absent for API keys. */
    member: { role: MemberRole } | undefined;
    tx: Tx;
  };
}
