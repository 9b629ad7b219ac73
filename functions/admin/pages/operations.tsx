import { z } from 'zod';
import {
  auditPlatformAction,
  deletionRecords,
  listJobs,
  organizationRows,
  retryJob,
  retryWebhookDelivery,
  webhookFailures,
  type JobState,
} from '../../../db/admin/console.ts';
import { isUuid } from '../../../db/tenant.ts';
import { lastVerifications, latestPlatformCheckpoint, recentPlatformRecords, verifyPlatformChain } from '../../../db/admin/platform-audit.ts';
import { verifierKey } from '../../../db/audit/checkpoint.ts';
import { AdminLayout } from '../layout.tsx';
import { back, operatorRequest, Refused, type AdminContext } from '../support.ts';
import { pageMessage } from '../../../middleware/page-messages.ts';

const viewed = (c: AdminContext, page: string) =>
  auditPlatformAction(c.get('admin').database, operatorRequest(c), { action: 'operator.view', targetType: 'page', targetId: page });

function chainState(last: ReturnType<Awaited<ReturnType<typeof lastVerifications>>['get']>) {
  if (!last) return 'never';
  return last.ok ? `verified (${last.rows_checked} rows) at ${last.occurred_at}` : `broken at seq ${last.break_seq}: ${last.break_kind} (found ${last.occurred_at})`;
}

/** Every organization's chain length and last verification, a verify button each, and the platform chain itself. */
export async function auditPage(c: AdminContext) {
  const { database, auditSigner } = c.get('admin');
  const orgs = await organizationRows(database);
  const verifyPlatform = c.req.query('verify') === 'platform';
  const platform = await database.db.transaction(async (tx) => ({
    report: verifyPlatform ? await verifyPlatformChain(tx, { verifier: auditSigner }) : null,
    recent: await recentPlatformRecords(tx, 50),
    checkpoint: await latestPlatformCheckpoint(tx),
    verifications: await lastVerifications(tx),
  }));
  await viewed(c, verifyPlatform ? 'audit (platform chain verified)' : 'audit');
  const report = platform.report;
  return c.html(
    <AdminLayout title="Audit chains" operator={c.get('operator')}>
      <section>
        <h2>Organizations</h2>
        <table data-testid="chains">
          <thead><tr><th>Organization</th><th class="num">Rows</th><th>Last verified</th><th /></tr></thead>
          <tbody>
            {orgs.map((o) => (
              <tr data-org={o.id}>
                <td><a href={`/admin/organizations/${o.id}`}>{o.name}</a></td>
                <td class="num">{o.auditSeq}</td>
                <td data-testid="chain-state">{chainState(platform.verifications.get(o.id))}</td>
                <td>
                  {/* A chain being deleted batch by batch has nothing left to verify. */}
                  {o.deletionRequestedAt ? 'being deleted' : <form method="post" action={`/admin/organizations/${o.id}/verify`}><button type="submit">Verify</button></form>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Platform chain (operator actions)</h2>
        {report ? (
          <p class={report.ok ? 'notice' : 'error'} data-testid="platform-chain-status">
            {report.ok ? `Verified: ${report.rowsChecked} rows, head at seq ${report.head?.seq ?? 0}.` : `Broken at seq ${report.firstBreak?.seq}: ${report.firstBreak?.kind} (${report.firstBreak?.detail}).`}
          </p>
        ) : (
          <p><a href="/admin/audit?verify=platform">Verify the platform chain</a></p>
        )}
        {platform.checkpoint && (
          <>
            <p>Latest signed checkpoint (keep a copy: a cut-off or rewritten chain shows against it):</p>
            <pre data-testid="platform-checkpoint">{platform.checkpoint}</pre>
          </>
        )}
        {auditSigner && <p class="muted">Verifier key: <code>{verifierKey(auditSigner)}</code></p>}
        <table data-testid="platform-chain">
          <thead><tr><th class="num">Seq</th><th>Time</th><th>Operator</th><th>Action</th><th>Organization</th><th>Target</th><th>Reason</th></tr></thead>
          <tbody>
            {platform.recent.map((r) => (
              <tr><td class="num">{r.seq}</td><td>{r.occurred_at}</td><td>{r.actor_id}</td><td>{r.action}</td><td>{r.organization_id}</td><td>{r.target_type} {r.target_id}</td><td>{r.reason}</td></tr>
            ))}
          </tbody>
        </table>
      </section>
    </AdminLayout>,
  );
}

export async function deletionsPage(c: AdminContext) {
  const records = await deletionRecords(c.get('admin').database);
  await viewed(c, 'deletions');
  return c.html(
    <AdminLayout title="Organization deletions" operator={c.get('operator')}>
      <section>
        <p class="muted">Platform records: they outlive the organization and hold no tenant content.</p>
        <table data-testid="deletions">
          <thead><tr><th>Organization id</th><th>Requested by</th><th>Requested</th><th>Completed</th><th class="num">Rows removed</th></tr></thead>
          <tbody>
            {records.map((r) => (
              <tr data-org={r.deletedOrganizationId}>
                <td><code>{r.deletedOrganizationId}</code></td>
                <td><code>{r.requestedBy}</code></td>
                <td>{r.requestedAt.toISOString()}</td>
                <td>{r.completedAt ? r.completedAt.toISOString() : 'in progress'}</td>
                <td class="num">{r.rowsDeleted ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </AdminLayout>,
  );
}

const JobStateQuery = z.enum(['pending', 'running', 'failed', 'dead']).optional();

export async function jobsPage(c: AdminContext) {
  const state = JobStateQuery.safeParse(c.req.query('state') || undefined);
  if (!state.success) throw new Refused('Unknown job state; use pending, running, failed or dead.', 404);
  const { jobs, counts } = await listJobs(c.get('admin').database, state.data as JobState | undefined);
  await viewed(c, `jobs${state.data ? ` (${state.data})` : ''}`);
  return c.html(
    <AdminLayout title="Job queue" operator={c.get('operator')} notice={pageMessage(c, 'notice')} error={pageMessage(c, 'error')}>
      <section>
        <p data-testid="job-counts">
          <a href="/admin/jobs?state=pending">{counts.pending} pending</a> · <a href="/admin/jobs?state=running">{counts.running} running</a> ·{' '}
          <a href="/admin/jobs?state=failed">{counts.failed} failed (will retry)</a> · <a href="/admin/jobs?state=dead">{counts.dead} dead (out of attempts)</a> ·{' '}
          <a href="/admin/jobs">all</a>
        </p>
        <table data-testid="jobs">
          <thead><tr><th class="num">Id</th><th>Task</th><th>Organization</th><th>State</th><th class="num">Attempts</th><th>Run at</th><th>Last error</th><th /></tr></thead>
          <tbody>
            {jobs.map((j) => (
              <tr data-job={j.id} data-state={j.state}>
                <td class="num">{j.id}</td>
                <td>{j.task}</td>
                <td>{j.orgId ? <a href={`/admin/organizations/${j.orgId}`}>{j.orgId}</a> : 'platform'}</td>
                <td>{j.state}</td>
                <td class="num">{j.attempts}/{j.maxAttempts}</td>
                <td>{j.runAt}</td>
                <td><code>{j.lastError ?? ''}</code></td>
                <td>
                  {(j.state === 'failed' || j.state === 'dead') && (
                    <form method="post" action={`/admin/jobs/${j.id}/retry`}><button type="submit">Retry now</button></form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </AdminLayout>,
  );
}

export async function retryJobNow(c: AdminContext) {
  const retried = await retryJob(c.get('admin').database, c.req.param('id') ?? '', operatorRequest(c));
  if (!retried) return back(c, '/admin/jobs', { error: 'That job is gone or running.' });
  const recorded = retried.notInOrganizationChain ? ` Recorded in the platform's audit chain only: ${retried.notInOrganizationChain}.` : '';
  return back(c, '/admin/jobs', { notice: `Job ${c.req.param('id')} will run again now.${recorded}` });
}

export async function webhookFailuresPage(c: AdminContext) {
  const failures = await webhookFailures(c.get('admin').database);
  await viewed(c, 'webhook failures');
  return c.html(
    <AdminLayout title="Webhook delivery failures" operator={c.get('operator')} notice={pageMessage(c, 'notice')} error={pageMessage(c, 'error')}>
      <section>
        <p class="muted">Deliveries being retried or out of attempts, across organizations. Bodies are tenant content and are not shown.</p>
        <table data-testid="webhook-failures">
          <thead><tr><th>Organization</th><th>Endpoint</th><th>Delivery</th><th>Status</th><th class="num">Attempts</th><th>Last error</th><th>Received</th><th /></tr></thead>
          <tbody>
            {failures.map((f) => (
              <tr data-delivery={f.id} data-status={f.status}>
                <td><a href={`/admin/organizations/${f.orgId}`}>{f.orgId}</a></td>
                <td><code>{f.endpointId}</code></td>
                <td><code>{f.id}</code></td>
                <td>{f.status}</td>
                <td class="num">{f.attempts}</td>
                <td><code>{f.lastError ?? ''}</code></td>
                <td>{f.receivedAt}</td>
                <td>
                  {f.status === 'dead' && (
                    <form method="post" action={`/admin/webhooks/${f.orgId}/${f.id}/retry`}><button type="submit">Retry</button></form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </AdminLayout>,
  );
}

export async function retryWebhook(c: AdminContext) {
  const orgId = c.req.param('orgId') ?? '';
  const id = c.req.param('id') ?? '';
  if (!isUuid(orgId) || !isUuid(id)) throw new Refused('No such delivery.', 404);
  const done = await retryWebhookDelivery(c.get('admin').database, orgId, id, operatorRequest(c));
  return done ? back(c, '/admin/webhooks', { notice: 'The delivery goes back to the relay.' }) : back(c, '/admin/webhooks', { error: 'That delivery is not dead (any more).' });
}
