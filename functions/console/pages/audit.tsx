import type { Context } from 'hono';
import { and, desc, eq, gte, lte } from 'drizzle-orm';
import { readChain } from '../../../db/audit/read.ts';
import { auditCheckpoints, auditLog } from '../../../db/schema/audit.ts';
import { organizations } from '../../../db/schema/organizations.ts';
import type { AppEnv } from '../../../middleware/env.ts';
import { Layout } from '../layout.tsx';

const DATE = /^\d{4}-\d\d-\d\d$/;
const isDate = (value: string | undefined): value is string => !!value && DATE.test(value) && !Number.isNaN(Date.parse(value));

/** The audit log of the active organization: chain status, latest checkpoint, filterable rows, export. */
export async function auditPage(c: Context<AppEnv>) {
  const q = (name: string) => c.req.query(name)?.trim() || undefined;
  const filter = { action: q('action'), actor: q('actor'), from: q('from'), to: q('to') };
  const where = and(
    filter.action ? eq(auditLog.action, filter.action.slice(0, 100)) : undefined,
    filter.actor ? eq(auditLog.actorId, filter.actor.slice(0, 200)) : undefined,
    isDate(filter.from) ? gte(auditLog.occurredAt, `${filter.from}T00:00:00Z`) : undefined,
    isDate(filter.to) ? lte(auditLog.occurredAt, `${filter.to}T23:59:59.999999Z`) : undefined,
  );
  const [org] = await c.var.tx.select({ name: organizations.name }).from(organizations);
  const rows = await c.var.tx.select().from(auditLog).where(where).orderBy(desc(auditLog.seq)).limit(100);
  // The whole chain is recomputed on the unfiltered page only: filtering the
  // table should not cost a full verification each time.
  const filtered = Object.values(filter).some(Boolean);
  const chain = filtered ? null : await readChain(c.var.tx, c.var.org.id, { signer: c.get('platform').auditSigner });
  const [checkpoint] = await c.var.tx.select().from(auditCheckpoints).orderBy(desc(auditCheckpoints.seq)).limit(1);
  const exportQuery = new URLSearchParams(
    Object.entries({ action: filter.action, actor: filter.actor }).filter((e): e is [string, string] => !!e[1]),
  ).toString();
  const principal = c.var.principal;
  return c.html(
    <Layout title="Audit log" user={principal.kind === 'session' ? principal : undefined} orgName={org?.name}>
      <section>
        <h2>Chain status</h2>
        <p data-testid="chain-status">
          {!chain ? (
            <>
              Checked on the <a href="/console/audit">unfiltered page</a>.
            </>
          ) : chain.ok ? (
            `Verified: ${chain.rowsChecked} rows, head at seq ${chain.head?.seq ?? 0}.`
          ) : (
            `Broken at seq ${chain.firstBreak!.seq} (${chain.firstBreak!.kind}): ${chain.firstBreak!.detail}`
          )}
        </p>
        {checkpoint ? (
          <>
            <p>Latest signed checkpoint: seq {checkpoint.seq}, {checkpoint.signedAt}. Keep it to check exports offline.</p>
            <pre data-testid="checkpoint">{checkpoint.note}</pre>
          </>
        ) : (
          <p>No checkpoint signed yet.</p>
        )}
        <p>
          Download: <a href={`/v1/audit-log/export?format=jsonl${exportQuery ? `&${exportQuery}` : ''}`}>JSON Lines</a> ·{' '}
          <a href={`/v1/audit-log/export?format=csv${exportQuery ? `&${exportQuery}` : ''}`}>CSV</a>. Verify a full export with{' '}
          <code>npx kommit-audit verify export.jsonl --checkpoint checkpoint.txt --public-key KEY</code>.
        </p>
      </section>
      <section>
        <form method="get" action="/console/audit">
          <label>Action <input name="action" value={filter.action ?? ''} placeholder="project.create" /></label>
          <label>Actor id <input name="actor" value={filter.actor ?? ''} /></label>
          <label>From <input name="from" type="date" value={filter.from ?? ''} /></label>
          <label>To <input name="to" type="date" value={filter.to ?? ''} /></label>
          <button type="submit">Filter</button>
        </form>
        <table>
          <thead>
            <tr><th>Seq</th><th>Time (UTC)</th><th>Actor</th><th>Action</th><th>Target</th></tr>
          </thead>
          <tbody data-testid="audit-rows">
            {rows.map((r) => (
              <tr>
                <td>{r.seq}</td>
                <td>{r.occurredAt.slice(0, 19)}</td>
                <td>{`${r.actorType}${r.actorId ? ` ${r.actorId.slice(0, 8)}` : ''}`}</td>
                <td>{r.action}</td>
                <td>{r.targetType ? `${r.targetType} ${r.targetId?.slice(0, 8) ?? ''}` : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </Layout>,
  );
}
