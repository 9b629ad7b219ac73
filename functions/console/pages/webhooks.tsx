import type { Context } from 'hono';
import { desc, eq } from 'drizzle-orm';
import { organizations } from '../../../db/schema/organizations.ts';
import { projects } from '../../../db/schema/projects.ts';
import { webhookDeliveries, webhookEndpoints } from '../../../db/schema/webhooks.ts';
import { insertWebhookEndpoint, RotationOverlapRunning, rotateWebhookSecret } from '../../../db/webhooks.ts';
import { audit } from '../../../middleware/audit.ts';
import type { AppEnv } from '../../../middleware/env.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { Layout } from '../layout.tsx';
import { back } from '../support.ts';
import { isUuid } from '../../../db/tenant.ts';
import { pageMessage } from '../../../middleware/page-messages.ts';

const endpointSummary = (row: typeof webhookEndpoints.$inferSelect) => ({ id: row.id, name: row.name, projectId: row.projectId, target: row.target, enabled: row.enabled });

/**
 * Inbound webhook endpoints of the active organization, their recent
 * deliveries, and (right after creating or rotating) the secret, shown once:
 * it is rendered into this one response, never put in a URL.
 */
async function renderWebhooks(c: Context<AppEnv>, reveal?: { name: string; secret: string }) {
  const [org] = await c.var.tx.select({ name: organizations.name }).from(organizations);
  const endpoints = await c.var.tx.select().from(webhookEndpoints).orderBy(desc(webhookEndpoints.createdAt)).limit(100);
  const projectRows = await c.var.tx.select({ id: projects.id, name: projects.name }).from(projects).orderBy(projects.name).limit(500);
  const projectName = new Map(projectRows.map((p) => [p.id, p.name]));
  const selected = c.req.query('endpoint');
  const deliveries =
    selected && isUuid(selected)
      ? await c.var.tx
          .select()
          .from(webhookDeliveries)
          .where(eq(webhookDeliveries.endpointId, selected))
          .orderBy(desc(webhookDeliveries.receivedAt))
          .limit(50)
      : [];
  const principal = c.var.principal;
  return c.html(
    <Layout title="Webhooks" user={principal.kind === 'session' ? principal : undefined} orgName={org?.name} notice={pageMessage(c, 'notice')} error={pageMessage(c, 'error')}>
      {reveal && (
        <section data-testid="secret">
          <h2>Signing secret of {reveal.name}</h2>
          <p>Copy it into the sending system now: it is not shown again.</p>
          <pre><code data-testid="secret-value">{reveal.secret}</code></pre>
        </section>
      )}
      <section>
        <table>
          <thead>
            <tr><th>Name</th><th>Project</th><th>Becomes</th><th>State</th><th>URL</th><th></th></tr>
          </thead>
          <tbody data-testid="endpoints">
            {endpoints.length === 0 && <tr><td colspan={6}>No webhook endpoints yet.</td></tr>}
            {endpoints.map((e) => (
              <tr>
                <td><a href={`/console/webhooks?endpoint=${e.id}`}>{e.name}</a></td>
                <td>{projectName.get(e.projectId) ?? ''}</td>
                <td>{e.target.replace('_', ' ')}</td>
                <td>{e.enabled ? 'enabled' : 'disabled'}</td>
                <td><code>/hooks/{e.id}</code></td>
                <td>
                  <form method="post" action={`/console/webhooks/${e.id}/rotate`}>
                    <button type="submit">Rotate secret of {e.name}</button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {selected && (
        <section>
          <h2>Recent deliveries</h2>
          <table>
            <thead>
              <tr><th>Message id</th><th>Received</th><th>State</th><th>Attempts</th><th>Last error</th></tr>
            </thead>
            <tbody data-testid="deliveries">
              {deliveries.length === 0 && <tr><td colspan={5}>No deliveries yet.</td></tr>}
              {deliveries.map((d) => (
                <tr>
                  <td>{d.messageId}</td>
                  <td>{d.receivedAt.slice(0, 19)}</td>
                  <td>{d.status}</td>
                  <td>{d.attempts}</td>
                  <td>{d.lastError ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <section>
        <h2>New endpoint</h2>
        <form method="post" action="/console/webhooks">
          <label>Name <input name="name" required maxlength={200} /></label>
          <label>
            Project{' '}
            <select name="projectId" required>
              {projectRows.map((p) => <option value={p.id}>{p.name}</option>)}
            </select>
          </label>
          <label>
            Deliveries become{' '}
            <select name="target">
              <option value="decision_event">decision events</option>
              <option value="raw_event">stored raw events</option>
            </select>
          </label>
          <button type="submit">Create endpoint</button>
        </form>
      </section>
    </Layout>,
  );
}

export const webhooksPage = (c: Context<AppEnv>) => renderWebhooks(c);

export async function createWebhookEndpoint(c: Context<AppEnv>) {
  requireRole(c, ['owner', 'admin']);
  const form = await c.req.parseBody();
  const name = String(form.name ?? '').trim();
  const projectId = String(form.projectId ?? '');
  const target = form.target === 'raw_event' ? 'raw_event' : 'decision_event';
  if (!name || name.length > 200) return back(c, '/console/webhooks', { error: 'An endpoint name has 1 to 200 characters.' });
  const [project] = isUuid(projectId) ? await c.var.tx.select({ id: projects.id }).from(projects).where(eq(projects.id, projectId)) : [];
  if (!project) return back(c, '/console/webhooks', { error: 'Pick one of this organization’s projects (create one first).' });
  const { row, secret } = await insertWebhookEndpoint(c.var.tx, c.get('platform').secretBox, c.var.org.id, { name, projectId, target });
  await audit(c, { action: 'webhook_endpoint.create', targetType: 'webhook_endpoint', targetId: row.id, data: { after: endpointSummary(row) } });
  return renderWebhooks(c, { name, secret });
}

export async function rotateWebhookEndpointSecret(c: Context<AppEnv>) {
  requireRole(c, ['owner', 'admin']);
  const id = c.req.param('id') ?? '';
  let rotated;
  try {
    rotated = isUuid(id) ? await rotateWebhookSecret(c.var.tx, c.get('platform').secretBox, id, 60) : null;
  } catch (error) {
    if (!(error instanceof RotationOverlapRunning)) throw error;
    return back(c, '/console/webhooks', {
      error: `The previous secret still verifies until ${error.previousSecretExpiresAt}: rotating again now would cut off a secret the sender may still use. Rotate again after that time.`,
    });
  }
  if (!rotated) return back(c, '/console/webhooks', { error: 'No such endpoint in this organization.' });
  await audit(c, { action: 'webhook_endpoint.rotate_secret', targetType: 'webhook_endpoint', targetId: id, data: { overlapMinutes: 60, previousSecretExpiresAt: rotated.row.previousSecretExpiresAt } });
  return renderWebhooks(c, { name: rotated.row.name, secret: rotated.secret });
}
