import { z } from 'zod';
import { auditPlatformAction, listOrganizations, organizationDetail, readTenantContent, verifyOrganizationChain } from '../../../db/admin/console.ts';
import { isUuid } from '../../../db/tenant.ts';
import { AdminLayout, bytes } from '../layout.tsx';
import { formFields, operatorRequest, Refused, type AdminContext } from '../support.ts';
import { pageMessage } from '../../../middleware/page-messages.ts';

function orgIdParam(c: AdminContext) {
  const id = c.req.param('id') ?? '';
  if (!isUuid(id)) throw new Refused('No such organization.', 404);
  return id;
}

export async function organizationsPage(c: AdminContext) {
  const { database } = c.get('admin');
  const orgs = await listOrganizations(database);
  await auditPlatformAction(database, operatorRequest(c), { action: 'operator.view', targetType: 'page', targetId: 'organizations' });
  return c.html(
    <AdminLayout title="Organizations" operator={c.get('operator')} notice={pageMessage(c, 'notice')} error={pageMessage(c, 'error')}>
      <section>
        <p class="muted">Metadata only: names, counts and sizes. Storage is each organization's share of its tables' size, by rows.</p>
        <table data-testid="organizations">
          <thead><tr><th>Name</th><th>Slug</th><th class="num">Members</th><th class="num">Rows</th><th class="num">Storage</th><th class="num">Audit rows</th><th>State</th></tr></thead>
          <tbody>
            {orgs.map((o) => (
              <tr data-org={o.id}>
                <td><a href={`/admin/organizations/${o.id}`}>{o.name}</a></td>
                <td>{o.slug}</td>
                <td class="num" data-testid="members">{o.members}</td>
                <td class="num" data-testid="rows">{o.rows}</td>
                <td class="num">{bytes(o.bytes)}</td>
                <td class="num">{o.auditSeq}</td>
                <td>{o.deletionRequestedAt ? `being deleted since ${o.deletionRequestedAt}` : 'active'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </AdminLayout>,
  );
}

export async function organizationPage(c: AdminContext) {
  const orgId = orgIdParam(c);
  const detail = await organizationDetail(c.get('admin').database, orgId, operatorRequest(c));
  const { org, usage } = detail;
  // Its content and chain are going away: nothing to read or verify, and its chain takes no operator rows.
  const deleting = Boolean(org.deletionRequestedAt);
  return c.html(
    <AdminLayout title={org.name} operator={c.get('operator')} error={pageMessage(c, 'error')}>
      <section>
        <p>
          <code>{org.id}</code> · slug <code>{org.slug}</code> · {org.members} members · {org.auditSeq} audit rows
          {org.deletionRequestedAt ? ` · being deleted since ${org.deletionRequestedAt}` : ''}
        </p>
        {deleting ? (
          <p class="muted" data-testid="recorded-in">Opening this page was recorded in the platform's audit chain only: this organization is being deleted, and its own chain goes with it.</p>
        ) : (
          <>
            <p class="muted" data-testid="recorded-in">Opening this page was recorded in the platform's audit chain and in this organization's.</p>
            <form method="post" action={`/admin/organizations/${org.id}/verify`}>
              <button type="submit">Verify audit chain</button>
            </form>
          </>
        )}
      </section>
      <section>
        <h2>Rows per table</h2>
        <table data-testid="usage">
          <thead><tr><th>Table</th><th class="num">Rows</th><th class="num">Storage (share)</th></tr></thead>
          <tbody>
            {usage.map((u) => (
              <tr data-table={u.table}><td>{u.table}</td><td class="num">{u.rows}</td><td class="num">{bytes(u.bytes)}</td></tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Content</h2>
        <p class="muted">
          {deleting ? 'Listed by id and kind. Being deleted: its content can no longer be read.' : 'Listed by id and kind. Reading one needs a reason, recorded in both audit chains.'}
        </p>
        <table data-testid="content">
          <thead><tr><th>Kind</th><th>Id</th><th>Details</th><th>Created</th><th /></tr></thead>
          <tbody>
            {detail.decisionEvents.map((e) => (
              <tr><td>decision event</td><td><code>{e.id}</code></td><td>{e.kind}, {e.status}</td><td>{e.createdAt}</td><td>{!deleting && <ReadForm orgId={org.id} kind="decision_event" id={e.id} />}</td></tr>
            ))}
            {detail.transcripts.map((t) => (
              <tr><td>transcript</td><td><code>{t.id}</code></td><td>{t.channel}, {t.messages} messages</td><td>{t.createdAt}</td><td>{!deleting && <ReadForm orgId={org.id} kind="transcript" id={t.id} />}</td></tr>
            ))}
          </tbody>
        </table>
      </section>
    </AdminLayout>,
  );
}

function ReadForm(props: { orgId: string; kind: string; id: string }) {
  return (
    <form method="post" action={`/admin/organizations/${props.orgId}/read`}>
      <input type="hidden" name="kind" value={props.kind} />
      <input type="hidden" name="id" value={props.id} />
      <input name="reason" placeholder="Reason (e.g. ticket 4711: customer asked us to look)" minlength={10} maxlength={500} required size={40} />
      <button type="submit">Read</button>
    </form>
  );
}

export async function verifyOrganization(c: AdminContext) {
  const orgId = orgIdParam(c);
  const report = await verifyOrganizationChain(c.get('admin').database, orgId, operatorRequest(c));
  return c.html(
    <AdminLayout title="Audit chain" operator={c.get('operator')}>
      <section class={report.ok ? 'notice' : 'error'} data-testid="chain-status">
        {report.ok
          ? `Verified: ${report.rowsChecked} rows, head at seq ${report.head?.seq ?? 0}.`
          : `Broken at seq ${report.firstBreak?.seq}: ${report.firstBreak?.kind} (${report.firstBreak?.detail}).`}
      </section>
      <p><a href={`/admin/organizations/${orgId}`}>Back to the organization</a></p>
    </AdminLayout>,
  );
}

const ReadRequest = z.object({
  kind: z.enum(['decision_event', 'transcript']),
  id: z.string().uuid(),
  reason: z.string().trim().min(10, 'State a reason of at least 10 characters.').max(500),
});

export async function readContent(c: AdminContext) {
  const orgId = orgIdParam(c);
  const parsed = ReadRequest.safeParse(await formFields(c));
  if (!parsed.success) {
    return c.html(
      <AdminLayout title="Reason required" operator={c.get('operator')} error={parsed.error.issues.map((i) => i.message).join(' ')}>
        <p><a href={`/admin/organizations/${orgId}`}>Back to the organization</a></p>
      </AdminLayout>,
      400,
    );
  }
  const { kind, id, reason } = parsed.data;
  const content = await readTenantContent(c.get('admin').database, orgId, kind, id, reason, operatorRequest(c));
  if (!content) throw new Refused('No such content in this organization.', 404);
  return c.html(
    <AdminLayout title={content.kind === 'decision_event' ? 'Decision event' : 'Support transcript'} operator={c.get('operator')}>
      <section class="notice">Read for: {reason}. Recorded in the platform's audit chain and in this organization's.</section>
      <section data-testid="tenant-content">
        {content.kind === 'decision_event' ? (
          <>
            <h2>{content.event.title}</h2>
            <p>{content.event.kind}, {content.event.status}</p>
            <p><strong>Rationale:</strong> {content.event.rationale}</p>
            <p><strong>Outcome:</strong> {content.event.outcome}</p>
            <pre>{JSON.stringify(content.event.metadata, null, 2)}</pre>
          </>
        ) : (
          <table>
            <tbody>
              {content.messages.map((m) => (
                <tr><td>{m.role}</td><td>{m.content}</td><td>{m.sentAt}</td></tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <p><a href={`/admin/organizations/${orgId}`}>Back to the organization</a></p>
    </AdminLayout>,
  );
}
