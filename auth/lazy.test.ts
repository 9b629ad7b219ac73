import { describe, expect, it } from 'vitest';
import type { Auth } from './index.ts';
import { lazyAuth } from './lazy.ts';

/** A stand-in for Better Auth that records what reached it. */
function fakeAuth(calls: unknown[][]) {
  return {
    api: {
      getSession: async (input: unknown) => (calls.push(['getSession', input]), { user: { id: 'u1' } }),
      signOut: async () => {
        throw new Error('signed out already');
      },
    },
    handler: async (request: Request) => (calls.push(['handler', request.url]), new Response('ok')),
  } as unknown as Auth;
}

describe('lazyAuth', () => {
  it('loads nothing until the first call, then forwards every call to the one it loaded', async () => {
    const calls: unknown[][] = [];
    let loads = 0;
    const auth = lazyAuth(async () => (loads++, fakeAuth(calls)));
    expect(typeof auth.api.getSession).toBe('function');
    expect(loads).toBe(0);

    const [a, b] = await Promise.all([auth.api.getSession({ headers: new Headers() }), auth.api.getSession({ headers: new Headers({ x: '1' }) })]);
    expect(a).toEqual({ user: { id: 'u1' } });
    expect(b).toEqual({ user: { id: 'u1' } });
    const response = await auth.handler(new Request('http://localhost/api/auth/ok'));
    expect(await response.text()).toBe('ok');
    expect(loads).toBe(1);
    expect(calls.map((c) => c[0])).toEqual(['getSession', 'getSession', 'handler']);
    // Errors of the real one reach the caller as they are.
    await expect(auth.api.signOut({ headers: new Headers() })).rejects.toThrow('signed out already');
  });

  it('tries again after a failed load, and is never mistaken for a promise', async () => {
    let attempts = 0;
    const auth = lazyAuth(async () => {
      if (++attempts === 1) throw new Error('package missing');
      return fakeAuth([]);
    });
    await expect(auth.api.getSession({ headers: new Headers() })).rejects.toThrow('package missing');
    await expect(auth.api.getSession({ headers: new Headers() })).resolves.toEqual({ user: { id: 'u1' } });
    expect(attempts).toBe(2);
    expect((auth.api as unknown as { then?: unknown }).then).toBeUndefined();
    expect(await Promise.resolve(auth.api)).toBe(auth.api);
    await expect((auth.api as unknown as Record<string, () => Promise<unknown>>).noSuchEndpoint!()).rejects.toThrow(/not a Better Auth endpoint/);
  });
});
