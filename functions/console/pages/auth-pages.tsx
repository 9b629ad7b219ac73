import type { Context } from 'hono';
import { betterAuthHeaders, requestAddress } from '../../../middleware/addresses.ts';
import type { AppEnv } from '../../../middleware/env.ts';
import { ApiError } from '../../../middleware/errors.ts';
import { Layout } from '../layout.tsx';
import { back, forwardCookies, messageOf } from '../support.ts';
import { pageMessage } from '../../../middleware/page-messages.ts';

export function signInPage(c: Context<AppEnv>) {
  return c.html(
    <Layout title="Sign in" notice={pageMessage(c, 'notice')} error={pageMessage(c, 'error')}>
      <section>
        <form method="post" action="/console/sign-in">
          <label>Email <input name="email" type="email" autocomplete="username" required /></label>
          <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
          <button type="submit">Sign in</button>
        </form>
        <p>New here? <a href="/console/sign-up">Create an account</a>.</p>
      </section>
    </Layout>,
  );
}

export function signUpPage(c: Context<AppEnv>) {
  return c.html(
    <Layout title="Create an account" error={pageMessage(c, 'error')}>
      <section>
        <form method="post" action="/console/sign-up">
          <label>Name <input name="name" required maxlength={100} /></label>
          <label>Email <input name="email" type="email" autocomplete="username" required /></label>
          <label>Password (10 characters or more) <input name="password" type="password" autocomplete="new-password" minlength={10} required /></label>
          <button type="submit">Create account</button>
        </form>
        <p>Have an account? <a href="/console/sign-in">Sign in</a>.</p>
      </section>
    </Layout>,
  );
}

async function form(c: Context<AppEnv>) {
  const body = await c.req.parseBody();
  const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
  return text;
}

export async function signIn(c: Context<AppEnv>) {
  const field = await form(c);
  const { auth, signInLimiter } = c.get('platform');
  try {
    await signInLimiter.attempt({ address: requestAddress(c), email: field('email') });
    const { headers } = await auth.api.signInEmail({
      body: { email: field('email'), password: field('password') },
      headers: betterAuthHeaders(c),
      returnHeaders: true,
    });
    forwardCookies(c, headers);
    return back(c, '/console');
  } catch (error) {
    return back(c, '/console/sign-in', { error: error instanceof ApiError ? error.message : messageOf(error) });
  }
}

export async function signUp(c: Context<AppEnv>) {
  const field = await form(c);
  const { auth, signInLimiter } = c.get('platform');
  try {
    // Counted per address, as /api/auth/sign-up/email is: no address creates accounts at speed.
    await signInLimiter.attempt({ address: requestAddress(c), kind: 'sign-up' });
    const { headers } = await auth.api.signUpEmail({
      body: { name: field('name'), email: field('email'), password: field('password') },
      headers: betterAuthHeaders(c),
      returnHeaders: true,
    });
    forwardCookies(c, headers);
    return back(c, '/console', { notice: 'Welcome to Kommit. Create your first organization below.' });
  } catch (error) {
    return back(c, '/console/sign-up', { error: error instanceof ApiError ? error.message : messageOf(error) });
  }
}

export async function signOut(c: Context<AppEnv>) {
  try {
    const { headers } = await c.get('platform').auth.api.signOut({ headers: betterAuthHeaders(c), returnHeaders: true });
    forwardCookies(c, headers);
  } catch {
    // Already signed out: the sign-in page is the right place either way.
  }
  return back(c, '/console/sign-in', { notice: 'Signed out.' });
}
