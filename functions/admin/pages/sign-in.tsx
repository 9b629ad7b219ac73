import { auditPlatformAction } from '../../../db/admin/console.ts';
import { consumeSetupToken, setupTokenValid } from '../../../db/admin/grants.ts';
import { ApiError } from '../../../middleware/errors.ts';
import { AdminLayout } from '../layout.tsx';
import { addressOf, authHeaders, back, formFields, forwardCookies, messageOf, operatorRequest, session, type AdminContext } from '../support.ts';
import { pageMessage } from '../../../middleware/page-messages.ts';

/** A limiter's refusal says when to try again; anything else, Better Auth's message. */
const reasonOf = (error: unknown) => (error instanceof ApiError ? error.message : messageOf(error));

/** A session was just made by a second-factor check: that is a sign-in, in the platform chain. */
function signedIn(c: AdminContext, user: { id: string; email: string }, method: string) {
  return auditPlatformAction(c.get('admin').database, operatorRequest(c, { userId: user.id, email: user.email }), { action: 'operator.sign_in', data: { method } });
}

export function signInPage(c: AdminContext) {
  return c.html(
    <AdminLayout title="Operator sign-in" notice={pageMessage(c, 'notice')} error={pageMessage(c, 'error')}>
      <section>
        <p class="muted">For platform operators only. Your account is your Kommit account; operator rights are granted with <code>npm run admin:grant</code>.</p>
        <form method="post" action="/admin/sign-in">
          <label>Email <input name="email" type="email" autocomplete="username" required /></label>
          <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
          <button type="submit">Continue</button>
        </form>
      </section>
    </AdminLayout>,
  );
}

export async function signIn(c: AdminContext) {
  const field = await formFields(c);
  try {
    await c.get('admin').signInLimiter.attempt({ address: addressOf(c) ?? undefined, email: field.email });
    const { headers, response } = await c.get('admin').auth.api.signInEmail({
      body: { email: field.email ?? '', password: field.password ?? '' },
      headers: authHeaders(c),
      returnHeaders: true,
    });
    forwardCookies(c, headers);
    // With TOTP set up, Better Auth holds the session back until the code is checked.
    const pending = (response as { twoFactorRedirect?: boolean }).twoFactorRedirect === true;
    return back(c, pending ? '/admin/two-factor' : '/admin/two-factor/setup');
  } catch (error) {
    return back(c, '/admin/sign-in', { error: reasonOf(error) });
  }
}

export function twoFactorPage(c: AdminContext) {
  return c.html(
    <AdminLayout title="Authenticator code" error={pageMessage(c, 'error')}>
      <section>
        <form method="post" action="/admin/two-factor">
          <label>Code from your authenticator app <input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required /></label>
          <button type="submit">Sign in</button>
        </form>
        <form method="post" action="/admin/two-factor/backup">
          <label>Or a backup code <input name="code" autocomplete="off" /></label>
          <button type="submit">Use backup code</button>
        </form>
      </section>
    </AdminLayout>,
  );
}

/** The second step of signing in: a code from the authenticator app, or a backup code. */
function verifySecondFactor(kind: 'totp' | 'backup') {
  return async function verifySecondFactor(c: AdminContext) {
    const field = await formFields(c);
    const { auth } = c.get('admin');
    // Only the second step of a sign-in: with a session already, Better Auth
    // would check the code against it (no new session, no lockout), which is
    // not signing in. Setting TOTP up has its own page.
    if (await session(c)) return back(c, '/admin');
    const request = { body: { code: field.code ?? '' }, headers: authHeaders(c), returnHeaders: true as const };
    try {
      await c.get('admin').signInLimiter.attempt({ address: addressOf(c) ?? undefined });
      const { headers, response } = kind === 'totp' ? await auth.api.verifyTOTP(request) : await auth.api.verifyBackupCode(request);
      await signedIn(c, response.user, kind === 'totp' ? 'totp' : 'backup code');
      forwardCookies(c, headers);
      return back(c, '/admin');
    } catch (error) {
      return back(c, '/admin/two-factor', { error: reasonOf(error) });
    }
  };
}

export const verifyCode = verifySecondFactor('totp');
export const verifyBackupCode = verifySecondFactor('backup');

/**
 * First sign-in of an operator: nothing but setting up TOTP is open, and that
 * takes the one-time code `npm run admin:grant` printed, so a password alone
 * (phished, or reset through the public app) cannot bind an authenticator.
 */
export async function setupPage(c: AdminContext) {
  const current = await session(c);
  if (!current) return back(c, '/admin/sign-in');
  if (current.user.twoFactorEnabled) return back(c, '/admin');
  return c.html(
    <AdminLayout title="Set up two-factor sign-in" error={pageMessage(c, 'error')}>
      <section>
        <p>The admin console needs a second factor: a code from an authenticator app (TOTP). Confirm your password and enter the one-time set-up code you were given with your operator rights.</p>
        <form method="post" action="/admin/two-factor/setup">
          <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
          <label>Set-up code <input name="setupCode" autocomplete="off" required /></label>
          <button type="submit">Create authenticator secret</button>
        </form>
      </section>
    </AdminLayout>,
  );
}

/** A session of an operator who has no TOTP yet, with attempts counted per address and account; null otherwise. */
async function enrolling(c: AdminContext) {
  const current = await session(c);
  if (!current || current.user.twoFactorEnabled) return null;
  await c.get('admin').signInLimiter.attempt({ address: addressOf(c) ?? undefined, email: current.user.email });
  return current;
}

export async function startSetup(c: AdminContext) {
  const field = await formFields(c);
  try {
    const current = await enrolling(c);
    if (!current) return back(c, '/admin/sign-in');
    if (!(await setupTokenValid(c.get('admin').database, current.user.id, field.setupCode ?? ''))) {
      return back(c, '/admin/two-factor/setup', { error: 'That set-up code is wrong or expired. Ask for a new one (npm run admin:grant).' });
    }
    const enabled = await c.get('admin').auth.api.enableTwoFactor({ body: { password: field.password ?? '', method: 'totp' }, headers: authHeaders(c) });
    if (enabled.method !== 'totp') throw new Error('expected a TOTP secret');
    const { totpURI, backupCodes } = enabled;
    const secret = new URL(totpURI).searchParams.get('secret') ?? '';
    return c.html(
      <AdminLayout title="Set up two-factor sign-in">
        <section>
          <p>Add this key to your authenticator app, then enter the code it shows.</p>
          <p>Key: <code data-testid="totp-secret">{secret}</code></p>
          <p class="muted">Or the full URI: <code data-testid="totp-uri">{totpURI}</code></p>
          <p>Backup codes (each works once; keep them somewhere safe):</p>
          <pre data-testid="backup-codes">{backupCodes.join('\n')}</pre>
          <form method="post" action="/admin/two-factor/confirm">
            <label>Code <input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required /></label>
            <button type="submit">Confirm</button>
          </form>
        </section>
      </AdminLayout>,
    );
  } catch (error) {
    return back(c, '/admin/two-factor/setup', { error: reasonOf(error) });
  }
}

export async function confirmSetup(c: AdminContext) {
  const field = await formFields(c);
  try {
    const current = await enrolling(c);
    if (!current) return back(c, '/admin/sign-in');
    // Confirming turns TOTP on and replaces this session with one made by the check.
    const { headers, response } = await c.get('admin').auth.api.verifyTOTP({ body: { code: field.code ?? '' }, headers: authHeaders(c), returnHeaders: true });
    await consumeSetupToken(c.get('admin').database, current.user.id);
    await signedIn(c, response.user, 'totp set up');
    forwardCookies(c, headers);
    return back(c, '/admin', { notice: 'Two-factor sign-in is on.' });
  } catch (error) {
    return back(c, '/admin/two-factor/setup', { error: `${reasonOf(error)} Start again to get a new key.` });
  }
}

export async function signOut(c: AdminContext) {
  try {
    const current = await session(c);
    const { headers } = await c.get('admin').auth.api.signOut({ headers: authHeaders(c), returnHeaders: true });
    if (current?.session.secondFactorAt) {
      await auditPlatformAction(c.get('admin').database, operatorRequest(c, { userId: current.user.id, email: current.user.email }), { action: 'operator.sign_out' });
    }
    forwardCookies(c, headers);
  } catch {
    // Signed out already.
  }
  return back(c, '/admin/sign-in', { notice: 'Signed out.' });
}
