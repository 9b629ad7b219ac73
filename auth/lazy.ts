import type { Auth } from './index.ts';

/**
 * Better Auth, created on first use. Every use of it (`auth.api.<endpoint>(…)`,
 * `auth.handler(request)`) is already asynchronous, so this stand-in forwards
 * each call once the real one exists, and until then nothing of Better Auth is
 * loaded: a process whose requests all carry API keys (the audit service, say)
 * never loads it. A failed load is not remembered; the next call tries again.
 */
export function lazyAuth(load: () => Promise<Auth>): Auth {
  let loading: Promise<Auth> | undefined;
  const auth = () =>
    (loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));
  const endpoints = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  const api = new Proxy(
    {},
    {
      get(_, name) {
        // Not a thenable, and nothing else a caller could mistake it for.
        if (typeof name !== 'string' || name === 'then') return undefined;
        let endpoint = endpoints.get(name);
        if (!endpoint) {
          endpoint = async (...args: unknown[]) => {
            const real = (await auth()).api as unknown as Record<string, unknown>;
            if (typeof real[name] !== 'function') throw new TypeError(`auth.api.${name} is not a Better Auth endpoint`);
            return (real[name] as (...a: unknown[]) => Promise<unknown>)(...args);
          };
          endpoints.set(name, endpoint);
        }
        return endpoint;
      },
    },
  );
  return { api, handler: async (request: Request) => (await auth()).handler(request) } as unknown as Auth;
}
