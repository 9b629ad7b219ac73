import type { Context } from 'hono';
import { desc } from 'drizzle-orm';
import { projects } from '../../../db/schema/projects.ts';
import { organizations } from '../../../db/schema/organizations.ts';
import { audit } from '../../../middleware/audit.ts';
import type { AppEnv } from '../../../middleware/env.ts';
import { Layout } from '../layout.tsx';
import { back } from '../support.ts';
import { pageMessage } from '../../../middleware/page-messages.ts';

/** The active organization's projects. Runs inside the tenant chain: c.var.tx sees this tenant only. */
export async function projectsPage(c: Context<AppEnv>) {
  const [org] = await c.var.tx.select({ name: organizations.name }).from(organizations);
  const rows = await c.var.tx.select().from(projects).orderBy(desc(projects.createdAt)).limit(200);
  const principal = c.var.principal;
  return c.html(
    <Layout
      title="Projects"
      user={principal.kind === 'session' ? principal : undefined}
      orgName={org?.name}
      notice={pageMessage(c, 'notice')}
      error={pageMessage(c, 'error')}
    >
      <section>
        <table>
          <thead>
            <tr><th>Name</th><th>Status</th><th>Created</th></tr>
          </thead>
          <tbody data-testid="projects">
            {rows.length === 0 && (
              <tr><td colspan={3}>No projects yet.</td></tr>
            )}
            {rows.map((p) => (
              <tr>
                <td>{p.name}</td>
                <td>{p.status}</td>
                <td>{p.createdAt.slice(0, 16)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>New project</h2>
        <form method="post" action="/console/projects">
          <label>Name <input name="name" required maxlength={200} /></label>
          <button type="submit">Create project</button>
        </form>
      </section>
    </Layout>,
  );
}

export async function createProject(c: Context<AppEnv>) {
  const name = String((await c.req.parseBody()).name ?? '').trim();
  if (!name || name.length > 200) return back(c, '/console/projects', { error: 'A project name has 1 to 200 characters.' });
  const [row] = await c.var.tx.insert(projects).values({ orgId: c.var.org.id, name }).returning();
  await audit(c, { action: 'project.create', targetType: 'project', targetId: row!.id, data: { after: { id: row!.id, name, status: row!.status } } });
  return back(c, '/console/projects', { notice: `Project ${name} created.` });
}
