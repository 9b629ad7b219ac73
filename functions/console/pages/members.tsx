import type { Context } from 'hono';
import { organizations } from '../../../db/schema/organizations.ts';
import { betterAuthHeaders } from '../../../middleware/addresses.ts';
import type { AppEnv } from '../../../middleware/env.ts';
import { Layout } from '../layout.tsx';
import { back, messageOf, session } from '../support.ts';
import { pageMessage } from '../../../middleware/page-messages.ts';

const ROLES = ['member', 'admin', 'owner'] as const;

/**
 * Members of the active organization. Runs inside the tenant chain, so the
 * caller's membership and role are the live ones; Better Auth enforces who may
 * invite, remove and change roles.
 */
export async function membersPage(c: Context<AppEnv>) {
  const { auth, config } = c.get('platform');
  const [org] = await c.var.tx.select({ id: organizations.id, name: organizations.name }).from(organizations);
  const query = { organizationId: c.var.org.id };
  const { members } = await auth.api.listMembers({ headers: betterAuthHeaders(c), query });
  const manager = c.var.member?.role === 'owner' || c.var.member?.role === 'admin';
  const invitations = manager ? (await auth.api.listInvitations({ headers: betterAuthHeaders(c), query })).filter((i) => i.status === 'pending') : [];
  const principal = c.var.principal;
  return c.html(
    <Layout title="Members" user={principal.kind === 'session' ? principal : undefined} orgName={org?.name} notice={pageMessage(c, 'notice')} error={pageMessage(c, 'error')}>
      <section>
        <table>
          <thead>
            <tr><th>Name</th><th>Email</th><th>Role</th>{manager && <th>Manage</th>}</tr>
          </thead>
          <tbody data-testid="members">
            {members.map((m) => (
              <tr>
                <td>{m.user.name}</td>
                <td>{m.user.email}</td>
                <td>{m.role}</td>
                {manager && (
                  <td>
                    <form class="inline" method="post" action="/console/members/role">
                      <input type="hidden" name="memberId" value={m.id} />
                      <select name="role" aria-label={`Role of ${m.user.email}`}>
                        {ROLES.map((r) => <option value={r} selected={r === m.role}>{r}</option>)}
                      </select>{' '}
                      <button type="submit">Change role</button>
                    </form>{' '}
                    <form class="inline" method="post" action="/console/members/remove">
                      <input type="hidden" name="memberId" value={m.id} />
                      <button type="submit" aria-label={`Remove ${m.user.email}`}>Remove</button>
                    </form>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {manager && (
        <section>
          <h2>Invite someone</h2>
          <form method="post" action="/console/members/invite">
            <label>Email <input name="email" type="email" required /></label>
            <label>Role <select name="role">{ROLES.map((r) => <option value={r}>{r}</option>)}</select></label>
            <button type="submit">Invite</button>
          </form>
          {invitations.length > 0 && (
            <>
              <h3>Pending invitations</h3>
              <p>Send each person their link; it works only for the invited email address.</p>
              <ul data-testid="invitations">
                {invitations.map((i) => (
                  <li>
                    {i.email} ({i.role}): <code>{`${config.baseURL}/console/invitations/${i.id}`}</code>
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      )}
    </Layout>,
  );
}

/**
 * The session's active organization, for the membership changes below. They
 * run outside the tenant transaction on purpose: it share-locks the caller's own
 * membership row, which Better Auth (on another connection) may need to change,
 * say when an owner steps down. Better Auth checks membership and role itself.
 */
async function activeOrganization(c: Context<AppEnv>) {
  const current = await session(c);
  return (current?.session as { activeOrganizationId?: string | null } | undefined)?.activeOrganizationId ?? undefined;
}

export async function inviteMember(c: Context<AppEnv>) {
  const body = await c.req.parseBody();
  const email = String(body.email ?? '').trim();
  const role = String(body.role ?? 'member') as (typeof ROLES)[number];
  try {
    await c.get('platform').auth.api.createInvitation({
      headers: betterAuthHeaders(c),
      body: { email, role, organizationId: await activeOrganization(c) },
    });
    return back(c, '/console/members', { notice: `Invitation for ${email} created; send them the link below.` });
  } catch (error) {
    return back(c, '/console/members', { error: messageOf(error) });
  }
}

export async function removeMember(c: Context<AppEnv>) {
  try {
    await c.get('platform').auth.api.removeMember({
      headers: betterAuthHeaders(c),
      body: { memberIdOrEmail: String((await c.req.parseBody()).memberId ?? ''), organizationId: await activeOrganization(c) },
    });
    return back(c, '/console/members', { notice: 'Member removed.' });
  } catch (error) {
    return back(c, '/console/members', { error: messageOf(error) });
  }
}

export async function changeRole(c: Context<AppEnv>) {
  const body = await c.req.parseBody();
  try {
    await c.get('platform').auth.api.updateMemberRole({
      headers: betterAuthHeaders(c),
      body: { memberId: String(body.memberId ?? ''), role: String(body.role ?? '') as (typeof ROLES)[number], organizationId: await activeOrganization(c) },
    });
    return back(c, '/console/members', { notice: 'Role changed.' });
  } catch (error) {
    return back(c, '/console/members', { error: messageOf(error) });
  }
}
