import type { Context } from 'hono';
import { desc, eq } from 'drizzle-orm';
import { collectControl } from '../../../db/controls/collect.ts';
import { controlStates } from '../../../db/controls/states.ts';
import { controls, evidenceSnapshots } from '../../../db/schema/controls.ts';
import { organizations } from '../../../db/schema/organizations.ts';
import { auditContext } from '../../../middleware/audit.ts';
import type { AppEnv } from '../../../middleware/env.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { Layout } from '../layout.tsx';
import { back } from '../support.ts';
import { isUuid } from '../../../db/tenant.ts';
import { pageMessage } from '../../../middleware/page-messages.ts';

const ORDER = { failing: 0, no_evidence: 1, passing: 2, not_applicable: 3 } as const;

/**
 * The organization's controls, failing first, from their latest evidence; a
 * control's page lists its snapshots (the history a reviewer walks through).
 */
export async function controlsPage(c: Context<AppEnv>) {
  const [org] = await c.var.tx.select({ name: organizations.name }).from(organizations);
  const states = (await controlStates(c.var.tx)).sort((a, b) => ORDER[a.state] - ORDER[b.state] || a.ref.localeCompare(b.ref));
  const selected = c.req.query('control');
  const control = selected && isUuid(selected) ? states.find((s) => s.id === selected) : undefined;
  const history = control
    ? await c.var.tx.select().from(evidenceSnapshots).where(eq(evidenceSnapshots.controlId, control.id)).orderBy(desc(evidenceSnapshots.collectedAt)).limit(50)
    : [];
  const principal = c.var.principal;
  return c.html(
    <Layout title="Controls" user={principal.kind === 'session' ? principal : undefined} orgName={org?.name} notice={pageMessage(c, 'notice')} error={pageMessage(c, 'error')}>
      <p data-testid="controls-counts">
        {states.filter((s) => s.state === 'failing').length} failing, {states.filter((s) => s.state === 'passing').length} passing,{' '}
        {states.filter((s) => s.state === 'no_evidence').length} without evidence
      </p>
      <section>
        <table>
          <thead>
            <tr><th>Control</th><th>Framework</th><th>Status</th><th>Evidence</th><th>Last collected</th><th></th></tr>
          </thead>
          <tbody data-testid="controls">
            {states.length === 0 && <tr><td colspan={6}>No controls yet: adopt a framework (POST /v1/controls/frameworks) or add your own.</td></tr>}
            {states.map((s) => (
              <tr data-state={s.state}>
                <td><a href={`/console/controls?control=${s.id}`}>{s.ref}</a> {s.title}</td>
                <td>{s.framework ?? 'own'}</td>
                <td>{s.status.replace('_', ' ')}</td>
                <td>{s.state.replace('_', ' ')}{s.failingSources.length ? ` (${s.failingSources.join(', ')})` : ''}</td>
                <td>{s.lastCollectedAt?.slice(0, 19) ?? ''}</td>
                <td>
                  <form method="post" action={`/console/controls/${s.id}/collect`}>
                    <button type="submit">Collect {s.ref}</button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {control && (
        <section>
          <h2>History of {control.ref}</h2>
          <table>
            <thead>
              <tr><th>Collected</th><th>Source</th><th>Result</th><th>Summary</th><th>SHA-256</th></tr>
            </thead>
            <tbody data-testid="history">
              {history.length === 0 && <tr><td colspan={5}>No evidence collected yet.</td></tr>}
              {history.map((h) => (
                <tr>
                  <td>{h.collectedAt.slice(0, 19)}</td>
                  <td>{h.source}</td>
                  <td>{h.passed ? 'pass' : 'fail'}</td>
                  <td>{(JSON.parse(h.content) as { summary?: string }).summary ?? ''}</td>
                  <td><code>{h.contentHash.slice(0, 16)}…</code></td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </Layout>,
  );
}

export async function collectFromConsole(c: Context<AppEnv>) {
  requireRole(c, ['owner', 'admin']);
  const id = c.req.param('id') ?? '';
  const [control] = isUuid(id) ? await c.var.tx.select().from(controls).where(eq(controls.id, id)).for('update') : [];
  if (!control) return back(c, '/console/controls', { error: 'No such control in this organization.' });
  if (control.evidence.length === 0) return back(c, `/console/controls?control=${id}`, { error: `${control.ref} is not mapped to an evidence source yet.` });
  const snapshots = await collectControl(c.var.tx, auditContext(c), control, 'on_demand');
  return back(c, `/console/controls?control=${id}`, { notice: `Collected ${control.ref}: ${snapshots.every((s) => s.passed) ? 'pass' : 'fail'}.` });
}
