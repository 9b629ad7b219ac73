import { z } from 'zod';
import { and, eq, notInArray, sql } from 'drizzle-orm';
import type { CheckpointSigner } from '../../db/audit/checkpoint.ts';
import { emitAudit } from '../../db/audit/emit.ts';
import type { KommitTaskList, TaskContext } from '../../db/jobs/worker.ts';
import { DecisionEventRefused, insertDecisionEvent } from '../../db/decisions.ts';
import { decisionKinds } from '../../db/schema/decisions.ts';
import { webhookDeliveries, webhookEndpoints } from '../../db/schema/webhooks.ts';
import { workflowRuns, workflows } from '../../db/schema/workflows.ts';
import type { Tx } from '../../db/tenant.ts';
import { isDataError, reasonOf } from '../../db/query-errors.ts';
import { lockOrganization } from '../../db/operators.ts';
import { parseDeliveryJson } from './body.ts';

const processPayload = z.object({ orgId: z.uuid(), deliveryId: z.uuid() });
const RELAY_BATCH = 500;

/** What a decision_event endpoint expects in a delivery body. */
export const decisionDelivery = z.object({
  title: z.string().trim().min(1).max(500),
  kind: z.enum(decisionKinds).default('decision'),
  rationale: z.string().max(20_000).optional(),
  outcome: z.string().max(20_000).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});


/** A delivery that can never succeed as it is: dead at once instead of retried (as is one whose data the database refuses, see isDataError). */
class Undeliverable extends Error {}

/** The delivery, unless an earlier attempt already settled it (processed or dead). */
const unsettled = (deliveryId: string) => and(eq(webhookDeliveries.id, deliveryId), notInArray(webhookDeliveries.status, ['processed', 'dead']));

type Endpoint = typeof webhookEndpoints.$inferSelect;
type Delivery = typeof webhookDeliveries.$inferSelect;

async function apply(tx: Tx, endpoint: Endpoint, delivery: Delivery, signer?: CheckpointSigner): Promise<{ type: string; id: string }> {
  const actor = { type: 'webhook' as const, id: endpoint.id };
  const audit = (action: string, targetType: string, targetId: string, data: Record<string, unknown>) =>
    emitAudit(tx, { orgId: endpoint.orgId, actor, signer }, { action, targetType, targetId, data: { ...data, deliveryId: delivery.id, messageId: delivery.messageId } });
  if (endpoint.target === 'raw_event') {
    await audit('webhook_delivery.store', 'webhook_delivery', delivery.id, { bytes: Buffer.byteLength(delivery.body) });
    return { type: 'raw_event', id: delivery.id };
  }
  const body = parseDeliveryJson(delivery.body);
  if (endpoint.target === 'decision_event') {
    const parsed = decisionDelivery.safeParse(body);
    if (!parsed.success) throw new Undeliverable(`not a decision event: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
    let recorded;
    try {
      recorded = await insertDecisionEvent(tx, {
        orgId: endpoint.orgId,
        projectId: endpoint.projectId,
        ...parsed.data,
        actor,
        metadata: { ...parsed.data.metadata, webhook: { endpointId: endpoint.id, messageId: delivery.messageId } },
      });
    } catch (error) {
      if (error instanceof DecisionEventRefused) throw new Undeliverable(`not a decision event: ${error.message}`);
      throw error;
    }
    await audit(recorded.audit.action, recorded.audit.targetType!, recorded.audit.targetId!, recorded.audit.data!);
    return { type: 'decision_event', id: recorded.event.id };
  }
  const [workflow] = await tx.select().from(workflows).where(eq(workflows.id, endpoint.workflowId!));
  if (!workflow || workflow.status !== 'active') throw new Undeliverable(`the workflow is ${workflow?.status ?? 'gone'}; only active workflows run`);
  const [run] = await tx
    .insert(workflowRuns)
    .values({ orgId: endpoint.orgId, workflowId: workflow.id, version: workflow.currentVersion, startedBy: `webhook:${endpoint.id}` })
    .returning();
  await audit('workflow_run.start', 'workflow_run', run!.id, { workflowId: workflow.id, version: run!.version, input: body });
  return { type: 'workflow_run', id: run!.id };
}

export const hookTasks: KommitTaskList = {
  /**
   * The relay (queued every second by the worker, one at a time): gives every
   * delivery still waiting a processing job of its own, in bulk, in the same
   * transaction that marks it queued, so retries and dead letters are per
   * delivery and nothing is queued twice.
   */
  'webhook.relay': async (_payload, { database }) => {
    const orgs = await database.sql<{ org: string }[]>`select org from kommit_orgs_with_waiting_deliveries() as org`;
    for (const { org } of orgs) {
      for (;;) {
        const queued = await database.withTenant(org, async (tx) => {
          const rows = await tx.execute<{ id: string }>(sql`
            update webhook_deliveries set status = 'queued'
            where id in (select id from webhook_deliveries where status = 'received' order by received_at limit ${RELAY_BATCH} for update skip locked)
            returning id`);
          const ids = [...rows].map((r) => r.id);
          if (ids.length) {
            await tx.execute(sql`
              select graphile_worker.add_jobs(array(
                select ('webhook.process', json_build_object('orgId', ${org}::uuid, 'deliveryId', id),
                        null::text, null::timestamptz, 8::smallint, null::text, null::smallint, null::text[])::graphile_worker.job_spec
                from unnest(${`{${ids.join(',')}}`}::uuid[]) as id))`);
          }
          return ids.length;
        });
        if (queued < RELAY_BATCH) break;
      }
    }
  },

  /**
   * Turns a stored delivery into what its endpoint says, in the delivery's
   * organization. Failures are recorded on the delivery; the queue retries
   * with back-off, and the last attempt (or a delivery that can never work)
   * leaves it dead, visible in the deliveries list. A delivery of an
   * organization whose deletion was requested is left dead too, untouched:
   * nothing may be created in an organization that is being removed.
   */
  'webhook.process': async (payload, { database, job, auditSigner, logger }) => {
    const { orgId, deliveryId } = processPayload.parse(payload);
    try {
      await processDelivery(orgId, deliveryId, { database, job, auditSigner });
    } catch (error) {
      // A fault outside the attempt's own record (the connection dropped, the
      // organization's lock timed out): on the last attempt the queue gives the
      // job up, so record that here, or the delivery would wait as queued forever.
      if (job.attempts >= job.max_attempts) {
        await database
          .withTenant(orgId, (tx) =>
            tx
              .update(webhookDeliveries)
              .set({ status: 'dead', attempts: sql`${webhookDeliveries.attempts} + 1`, lastError: `gave up after the last attempt: ${reasonOf(error)}`.slice(0, 1000) })
              .where(unsettled(deliveryId)),
          )
          .catch((cause: unknown) => logger.error({ err: cause, orgId, deliveryId }, 'could not record a webhook delivery as dead after its last attempt'));
      }
      throw error;
    }
  },
};

async function processDelivery(orgId: string, deliveryId: string, { database, job, auditSigner }: Pick<TaskContext, 'database' | 'job' | 'auditSigner'>) {
  const failure = await database.withTenant(orgId, async (tx) => {
    // Share-locked until this attempt ends: a deletion requested meanwhile
    // waits for it, and one requested earlier (the delivery was queued or
    // retrying by then) is seen here.
    const org = await lockOrganization(tx, orgId);
    if (org?.deletionRequestedAt) {
      await tx
        .update(webhookDeliveries)
        .set({ status: 'dead', lastError: `not processed: the organization is being deleted (requested ${org.deletionRequestedAt})` })
        .where(unsettled(deliveryId));
      return null;
    }
    // What the delivery will write under (its endpoint's project, and workflow
    // for a run) is key-share locked before the delivery itself, the order a
    // deletion of either takes (the row first, then its cascade to endpoints
    // and deliveries). The other way round, the insert's foreign key check
    // would ask for these locks while the delivery was held, and a concurrent
    // DELETE /v1/projects/{id} holding the project and waiting for the delivery
    // would deadlock with it. A deletion that wins leaves no delivery to find.
    // The project is share-locked (db/projects.ts holdProjectForWork): an
    // archive racing this delivery either waits for it or is seen by it.
    const [parents] = await tx.execute<{ workflow_id: string | null; project_status: string }>(sql`
      select e.workflow_id, p.status as project_status from webhook_deliveries d
      join webhook_endpoints e on e.org_id = d.org_id and e.id = d.endpoint_id
      join projects p on p.org_id = e.org_id and p.id = e.project_id
      where d.id = ${deliveryId} for share of p`);
    if (parents?.workflow_id) await tx.execute(sql`select 1 from workflows where id = ${parents.workflow_id} for key share`);
    const [found] = await tx
      .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, and(eq(webhookEndpoints.orgId, webhookDeliveries.orgId), eq(webhookEndpoints.id, webhookDeliveries.endpointId)))
      .where(eq(webhookDeliveries.id, deliveryId))
      .for('update', { of: webhookDeliveries });
    // Gone with its endpoint, or done by an earlier attempt: nothing to do twice.
    if (!found || found.delivery.status === 'processed' || found.delivery.status === 'dead') return null;
    try {
      // An archived project takes no new work, from its webhooks neither (as from the API: 409 there).
      if (parents?.project_status === 'archived') throw new Undeliverable('the project is archived and takes no new work');
      // A savepoint: a failed attempt leaves nothing behind but its record below.
      const result = await tx.transaction((sp) => apply(sp, found.endpoint, found.delivery, auditSigner));
      await tx
        .update(webhookDeliveries)
        .set({ status: 'processed', attempts: sql`${webhookDeliveries.attempts} + 1`, lastError: null, resultType: result.type, resultId: result.id, processedAt: sql`now()` })
        .where(eq(webhookDeliveries.id, deliveryId));
      return null;
    } catch (error) {
      // Retrying helps a passing fault only; bad data fails the same way each time.
      const dead = error instanceof Undeliverable || isDataError(error) || job.attempts >= job.max_attempts;
      const message = reasonOf(error);
      await tx
        .update(webhookDeliveries)
        .set({ status: dead ? 'dead' : 'retrying', attempts: sql`${webhookDeliveries.attempts} + 1`, lastError: message.slice(0, 1000) })
        .where(eq(webhookDeliveries.id, deliveryId));
      return dead ? null : new Error(message);
    }
  });
  if (failure) throw failure;
}
