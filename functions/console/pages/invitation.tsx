import type { Context } from 'hono';
import { betterAuthHeaders } from '../../../middleware/addresses.ts';
import type { AppEnv } from '../../../middleware/env.ts';
import { Layout } from '../layout.tsx';
import { back, messageOf, session } from '../support.ts';
import { pageMessage } from '../../../middleware/page-messages.ts';

/** The link an invitee receives. Only the invited email address can accept it. */
export async function invitationPage(c: Context<AppEnv>) {
  const current = await session(c);
  const id = c.req.param('id');
  if (!current) return back(c, '/console/sign-in', { notice: 'Sign in (or create an account) with the invited email address, then open the link again.' });
  return c.html(
    <Layout title="Invitation" user={current.user} error={pageMessage(c, 'error')}>
      <section>
        <p>You were invited to join an organization on Kommit.</p>
        <form method="post" action={`/console/invitations/${encodeURIComponent(id ?? '')}`}>
          <button type="submit">Accept invitation</button>
        </form>
      </section>
    </Layout>,
  );
}

export async function acceptInvitation(c: Context<AppEnv>) {
  const id = c.req.param('id') ?? '';
  try {
    // Better Auth checks the invitation is for this user's email and makes the organization active.
    await c.get('platform').auth.api.acceptInvitation({ headers: betterAuthHeaders(c), body: { invitationId: id } });
    return back(c, '/console/projects', { notice: 'Welcome aboard.' });
  } catch (error) {
    return back(c, `/console/invitations/${encodeURIComponent(id)}`, { error: messageOf(error) });
  }
}
