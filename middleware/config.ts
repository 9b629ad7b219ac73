/** HTTP-side settings, read once from the environment and passed down explicitly. */
export interface HttpConfig {
  /** Production refuses plain HTTP (except /health) and sends HSTS. */
  production: boolean;
  /** CIDR ranges whose X-Forwarded-Proto is believed (the reverse proxy). */
  trustedProxies: string[];
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
}

export function httpConfigFromEnv(env: NodeJS.ProcessEnv = process.env): HttpConfig {
  return {
    production: env.NODE_ENV === 'production',
    trustedProxies: (env.TRUSTED_PROXIES ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    maxBodyBytes: Number(env.MAX_BODY_BYTES ?? 1024 * 1024),
  };
}
