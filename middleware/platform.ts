import type { Logger } from 'pino';
import { lazyAuth } from '../auth/lazy.ts';
import { emitAudit } from '../db/audit/emit.ts';
import { hkdfSync } from 'node:crypto';
import { answererFromEnv, type Answerer } from '../db/search/answerer.ts';
import type { Embedder } from '../db/search/embedder.ts';
import { vectorScoring, type VectorScoring } from '../db/search/index.ts';
import { embedderFromEnv } from '../db/search/remote-embedder.ts';
import { createSecretBox } from '../db/secret-box.ts';
import type { Database } from '../db/tenant.ts';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { CLIENT_ADDRESS_HEADER, compileRanges } from './addresses.ts';
import type { HttpConfig } from './config.ts';
import type { Platform } from './env.ts';
import { createMetrics } from './metrics.ts';
import { createRequestLimiters } from './request-limits.ts';
import { createSignInLimiter } from './sign-in-limit.ts';

export interface PlatformInput {
  database: Database;
  authDatabase: Database;
  config: HttpConfig;
  logger: Logger;
  authSecret: string;
  auditSigner?: Platform['auditSigner'];
  functions: string[];
  ready: () => boolean;
  /** 32 bytes, base64: the key sealing stored secrets (WEBHOOK_SECRET_KEY). */
  secretKey: string;
  /** Defaults to the one configured by env (the local embedder without configuration). */
  embedder?: Embedder;
  /** Forces how search compares vectors; by default pgvector where the database has it. */
  vectorScoring?: VectorScoring;
  /** Defaults to the one configured by env (extractive without ANSWER_URL). */
  answerer?: Answerer;
  /** The platform helpdesk widget's key, when there is one (see db/platform-helpdesk.ts). */
  platformWidgetKey?: string;
}

/** Everything a process shares across requests, built once at start-up. */
export function createPlatform(input: PlatformInput): Platform {
  const { authSecret, secretKey, vectorScoring: _forced, ...rest } = input;
  const metrics = createMetrics({ app: input.database, auth: input.authDatabase });
  return {
    ...rest,
    // Loaded on first use (a session cookie, a sign-in): processes serving API keys only never load Better Auth.
    auth: lazyAuth(async () =>
      (await import('../auth/index.ts')).createAuth({
        db: input.authDatabase.db,
        // One connection always left for the session lookup every request makes.
        transactionSlots: Math.max(1, input.authDatabase.stats().capacity - 1),
        baseURL: input.config.baseURL,
        secret: authSecret,
        production: input.config.production,
        clientIpHeader: CLIENT_ADDRESS_HEADER,
        // In Better Auth's transaction, on its role: the change and its audit
        // row commit together (auth/README.md).
        onGovernedAction: async (event, tx) => {
          await emitAudit(
            tx,
            { orgId: event.orgId, actor: { type: 'user', id: event.actorUserId }, ip: event.ip, signer: input.auditSigner },
            { action: event.action, targetType: event.targetType, targetId: event.targetId ?? undefined, data: event.data },
          );
        },
        onGovernedActionCommitted: () => metrics.auditAppends.inc(),
      }),
    ),
    trustedProxyRanges: compileRanges(input.config.trustedProxies),
    signInLimiter: createSignInLimiter(input.config.signInLimits),
    embedder: input.embedder ?? embedderFromEnv(),
    vectorScoring: input.vectorScoring ? () => Promise.resolve(input.vectorScoring!) : askedOnce(vectorScoring),
    secretBox: createSecretBox(secretKey),
    metrics,
    requestLimiters: createRequestLimiters(input.config.requestLimits),
    webhookLimiter: new RateLimiterMemory({ keyPrefix: 'webhook-endpoint', points: input.config.webhooks.perEndpointPerMinute, duration: 60 }),
    webhookFailureLimiter: new RateLimiterMemory({ keyPrefix: 'webhook-failed', points: input.config.webhooks.failedPerAddressPerMinute, duration: 60 }),
    widgetLimiters: {
      perKey: new RateLimiterMemory({ keyPrefix: 'widget-key', points: input.config.widget.perKeyPerMinute, duration: 60 }),
      perVisitor: new RateLimiterMemory({ keyPrefix: 'widget-visitor', points: input.config.widget.perVisitorPerMinute, duration: 60 }),
      startsPerAddress: new RateLimiterMemory({ keyPrefix: 'widget-address', points: input.config.widget.startsPerAddressPerMinute, duration: 60 }),
      questionsPerAddress: new RateLimiterMemory({ keyPrefix: 'widget-address-questions', points: input.config.widget.questionsPerAddressPerMinute, duration: 60 }),
    },
    // Its own key, derived from the sealing key: one secret to configure, and
    // a leaked token key would still not open sealed secrets (nor the reverse).
    widgetTokenKey: Buffer.from(hkdfSync('sha256', Buffer.from(secretKey.trim(), 'base64'), Buffer.alloc(0), 'kommit widget visitor tokens v1', 32)),
    answerer: input.answerer ?? answererFromEnv(),
  };
}

/** The first answer of ask, kept; a failed ask (the database was away) is asked again next time. */
function askedOnce<A, T>(ask: (arg: A) => Promise<T>): (arg: A) => Promise<T> {
  let answer: Promise<T> | undefined;
  return (arg) =>
    (answer ??= ask(arg).catch((error: unknown) => {
      answer = undefined;
      throw error;
    }));
}
