import { wholeNumberSetting } from '../db/settings.ts';
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from './request-limits.ts';

/** HTTP-side settings, read once from the environment and passed down explicitly. */
export interface HttpConfig {
  /** Production refuses plain HTTP (except /health) and sends HSTS. */
  production: boolean;
  /** CIDR ranges whose X-Forwarded-Proto and X-Forwarded-For are believed (the reverse proxy). */
  trustedProxies: string[];
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** The public origin users reach this deployment at; cookie-authenticated writes must come from it. */
  baseURL: string;
  signInLimits: SignInLimits;
  webhooks: WebhookLimits;
  requestLimits: RequestLimits;
  /** Bearer token Prometheus scrapes /metrics with; without one /metrics does not exist. */
  metricsToken?: string;
  widget: WidgetLimits;
  /** Largest evidence pack (uncompressed bytes) built for one request; larger asks get a 422 (default 64 MiB). */
  evidencePackMaxBytes?: number;
}

export interface WidgetLimits {
  /** Conversations started plus questions asked through one widget key per minute. */
  perKeyPerMinute: number;
  /** Questions one visitor may ask per minute. */
  perVisitorPerMinute: number;
  /** Conversations one client address may start per minute, across all widgets (anonymous visitors are free to mint). */
  startsPerAddressPerMinute: number;
  /**
   * Questions one client address may ask per minute, across all widgets and
   * conversations: an anonymous visitor is a new visitor in every conversation,
   * so the per-visitor limit alone does not bound one address.
   */
  questionsPerAddressPerMinute: number;
  /** Longest question, in characters. */
  maxQuestionChars: number;
  /** How long a visitor token stays valid. */
  tokenTtlSeconds: number;
}

export const DEFAULT_WIDGET_LIMITS: WidgetLimits = { perKeyPerMinute: 600, perVisitorPerMinute: 20, startsPerAddressPerMinute: 30, questionsPerAddressPerMinute: 60, maxQuestionChars: 1000, tokenTtlSeconds: 3600 };

export interface WebhookLimits {
  /** Largest delivery body, enforced while reading. */
  maxBodyBytes: number;
  /** Verified deliveries one endpoint may send per minute. */
  perEndpointPerMinute: number;
  /**
   * Deliveries whose signature does not verify that one client address may
   * send to one endpoint per minute: a budget of their own, so unsigned noise
   * never spends the endpoint's budget the real sender needs.
   */
  failedPerAddressPerMinute: number;
}

export const DEFAULT_WEBHOOK_LIMITS: WebhookLimits = { maxBodyBytes: 256 * 1024, perEndpointPerMinute: 6000, failedPerAddressPerMinute: 60 };

export interface SignInLimits {
  /** Password attempts per account (the email signed in with, or the session's user) within the window. */
  perAccount: number;
  /** Password attempts and sign-ups per client address within the window. */
  perAddress: number;
  windowSeconds: number;
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = { perAccount: 10, perAddress: 50, windowSeconds: 600 };

export function httpConfigFromEnv(env: NodeJS.ProcessEnv = process.env): HttpConfig {
  const port = env.PORT ?? '8787';
  return {
    production: env.NODE_ENV === 'production',
    trustedProxies: (env.TRUSTED_PROXIES ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    maxBodyBytes: wholeNumberSetting(env, 'MAX_BODY_BYTES', 1024 * 1024, { min: 1 }),
    baseURL: env.KOMMIT_BASE_URL ?? `http://localhost:${port}`,
    signInLimits: {
      perAccount: wholeNumberSetting(env, 'SIGN_IN_LIMIT_PER_ACCOUNT', DEFAULT_SIGN_IN_LIMITS.perAccount, { min: 1 }),
      perAddress: wholeNumberSetting(env, 'SIGN_IN_LIMIT_PER_ADDRESS', DEFAULT_SIGN_IN_LIMITS.perAddress, { min: 1 }),
      windowSeconds: wholeNumberSetting(env, 'SIGN_IN_LIMIT_WINDOW_SECONDS', DEFAULT_SIGN_IN_LIMITS.windowSeconds, { min: 1 }),
    },
    metricsToken: env.METRICS_TOKEN?.trim() || undefined,
    requestLimits: {
      perAddressPerMinute: wholeNumberSetting(env, 'RATE_LIMIT_PER_ADDRESS', DEFAULT_REQUEST_LIMITS.perAddressPerMinute),
      perKeyPerMinute: wholeNumberSetting(env, 'RATE_LIMIT_PER_API_KEY', DEFAULT_REQUEST_LIMITS.perKeyPerMinute),
      perUserPerMinute: wholeNumberSetting(env, 'RATE_LIMIT_PER_USER', DEFAULT_REQUEST_LIMITS.perUserPerMinute),
    },
    webhooks: {
      maxBodyBytes: wholeNumberSetting(env, 'WEBHOOK_MAX_BODY_BYTES', DEFAULT_WEBHOOK_LIMITS.maxBodyBytes, { min: 1 }),
      perEndpointPerMinute: wholeNumberSetting(env, 'WEBHOOK_RATE_PER_MINUTE', DEFAULT_WEBHOOK_LIMITS.perEndpointPerMinute, { min: 1 }),
      failedPerAddressPerMinute: wholeNumberSetting(env, 'WEBHOOK_FAILED_RATE_PER_MINUTE', DEFAULT_WEBHOOK_LIMITS.failedPerAddressPerMinute, { min: 1 }),
    },
    evidencePackMaxBytes: wholeNumberSetting(env, 'EVIDENCE_PACK_MAX_BYTES', undefined, { min: 1 }),
    widget: {
      perKeyPerMinute: wholeNumberSetting(env, 'WIDGET_RATE_PER_KEY_PER_MINUTE', DEFAULT_WIDGET_LIMITS.perKeyPerMinute, { min: 1 }),
      perVisitorPerMinute: wholeNumberSetting(env, 'WIDGET_RATE_PER_VISITOR_PER_MINUTE', DEFAULT_WIDGET_LIMITS.perVisitorPerMinute, { min: 1 }),
      startsPerAddressPerMinute: wholeNumberSetting(env, 'WIDGET_STARTS_PER_ADDRESS_PER_MINUTE', DEFAULT_WIDGET_LIMITS.startsPerAddressPerMinute, { min: 1 }),
      questionsPerAddressPerMinute: wholeNumberSetting(env, 'WIDGET_QUESTIONS_PER_ADDRESS_PER_MINUTE', DEFAULT_WIDGET_LIMITS.questionsPerAddressPerMinute, { min: 1 }),
      maxQuestionChars: wholeNumberSetting(env, 'WIDGET_MAX_QUESTION_CHARS', DEFAULT_WIDGET_LIMITS.maxQuestionChars, { min: 1 }),
      tokenTtlSeconds: wholeNumberSetting(env, 'WIDGET_TOKEN_TTL_SECONDS', DEFAULT_WIDGET_LIMITS.tokenTtlSeconds, { min: 1 }),
    },
  };
}

/**
 * Node's HTTP server limits: a client gets 10 s to send its headers and 30 s
 * for the whole request, so a slow-loris trickle ties up a socket, never the
 * process.
 */
export const HTTP_SERVER_OPTIONS = { headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 };
