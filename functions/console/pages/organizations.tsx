import type { Context } from 'hono';
import { listMemberships } from '../../../auth/memberships.ts';
import { organizationSlug } from '../../../db/operators.ts';
import { betterAuthHeaders } from '../../../middleware/addresses.ts';
import type { AppEnv } from '../../../middleware/env.ts';
import { Layout } from '../layout.tsx';
import { back, messageOf, session } from '../support.ts';
import { pageMessage } from '../../../middleware/page-messages.ts';

/** Home: the user's organizations, the switcher, and creating one. Outside any tenant. */
export async function organizationsPage(c: Context<AppEnv>) {
  const current = await session(c);
  if (!current) return back(c, '/console/sign-in');
  const memberships = await listMemberships(c.get('platform').authDatabase, current.user.id);
  const activeId = (current.session as { activeOrganizationId?: string | null }).activeOrganizationId;
  const active = memberships.find((m) => m.id === activeId);
  return c.html(
    <Layout title="Organizations" user={current.user} orgName={active?.name} notice={pageMessage(c, 'notice')} error={pageMessage(c, 'error')}>
      <section>
        <h2>Switch organization</h2>
        {memberships.length === 0 ? (
          <p>You are not a member of any organization yet.</p>
        ) : (
          <form method="post" action="/console/switch">
            <select name="organizationId" aria-label="Organization">
              {memberships.map((m) => (
                <option value={m.id} selected={m.id === active?.id}>{`${m.name} (${m.role})`}</option>
              ))}
            </select>{' '}
            <button type="submit">Switch</button>
          </form>
        )}
      </section>
      <section>
        <h2>Create an organization</h2>
        <form method="post" action="/console/organizations">
          <label>Name <input name="name" required maxlength={100} /></label>
          <button type="submit">Create organization</button>
        </form>
      </section>
    </Layout>,
  );
}

export async function createOrganization(c: Context<AppEnv>) {
  const body = await c.req.parseBody();
  const name = String(body.name ?? '').trim();
  if (!name) return back(c, '/console', { error: 'Give the organization a name.' });
  const slug = `${organizationSlug(name)}-${crypto.randomUUID().slice(0, 6)}`;
  try {
    // Better Auth makes the creator the owner and the new organization active.
    await c.get('platform').auth.api.createOrganization({ headers: betterAuthHeaders(c), body: { name, slug } });
    return back(c, '/console/projects', { notice: `Organization ${name} created.` });
  } catch (error) {
    return back(c, '/console', { error: messageOf(error) });
  }
}

export async function switchOrganization(c: Context<AppEnv>) {
  const organizationId = String((await c.req.parseBody()).organizationId ?? '');
  try {
    // Rebinds the session on the server, after Better Auth checked the membership.
    await c.get('platform').auth.api.setActiveOrganization({ headers: betterAuthHeaders(c), body: { organizationId } });
    return back(c, '/console/projects');
  } catch (error) {
    return back(c, '/console', { error: messageOf(error) });
  }
}
