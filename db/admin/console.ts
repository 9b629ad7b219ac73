import { asc, desc, eq, sql } from 'drizzle-orm';
import { newestFirst } from '../../middleware/pagination.ts';
import { readChain } from '../audit/read.ts';
import { decisionEvents } from '../schema/decisions.ts';
import { organizationDeletions } from '../schema/platform.ts';
import { supportMessages, supportTranscripts } from '../schema/transcripts.ts';
import { lockOrganization } from '../operators.ts';
import { isUuid, type Database, type Tx } from '../tenant.ts';
import { auditOperator, type OperatorAction } from './platform-audit.ts';

/**
 * What the admin console reads and does, on the admin role (beheerder). Reads
 * across organizations go through the kommit_admin_* functions, which return
 * metadata only; anything about one organization runs inside its tenant
 * context and is recorded in its chain as well as the platform's (the
 * platform's alone once the organization's deletion was requested).
 */
export type Operator = OperatorAction['operator'];
export interface OperatorRequest {
  operator: Operator;
  requestId?: string | null;
  ip?: string | null;
  signer?: OperatorAction['signer'];
}

/** A Postgres array literal: drizzle would expand a JS array into a row list. */
const uuidArray = (ids: string[]) => `{${ids.filter(isUuid).join(',')}}`;

/** Records an action that touches no single organization (platform chain only). */
export function auditPlatformAction(admin: Database, request: OperatorRequest, entry: Omit<OperatorAction, 'operator' | 'requestId' | 'ip' | 'orgId'>) {
  return admin.db.transaction((tx) => auditOperator(tx, { ...request, ...entry }));
}

/** The organization an operator named does not exist (any more). */
export class NoSuchOrganization extends Error {
  constructor() {
    super('No such organization.');
  }
}

/** The action makes no sense for an organization whose deletion was requested (its content and chain are going away). */
export class OrganizationBeingDeleted extends Error {
  constructor(readonly deletionRequestedAt: string) {
    super(`This organization is being deleted (requested at ${deletionRequestedAt}): its content, webhooks and audit chain are going away with it.`);
  }
}

/** What the platform row of an action on an organization under deletion says about the organization's chain. */
export const DELETING_NOT_IN_ORGANIZATION_CHAIN = 'the organization is being deleted: its audit chain goes with it';

type ActionAudit = Omit<OperatorAction, 'operator' | 'requestId' | 'ip' | 'orgId'>;

/**
 * Runs fn inside orgId's tenant context and records the action in both
 * chains, in the same transaction. Once the organization's deletion was
 * requested its chain is going away (the org.delete worker removes the chain
 * head in its first batches, so appending would fail): an action that still
 * makes sense then (whileDeleting 'platform-only': looking at the overview,
 * restarting its jobs) is recorded in the platform chain only, saying so;
 * any other is refused with OrganizationBeingDeleted.
 */
function inOrganization<T>(
  admin: Database,
  orgId: string,
  request: OperatorRequest,
  whileDeleting: 'platform-only' | 'refuse',
  fn: (tx: Tx, org: { deletionRequestedAt: string | null }) => Promise<{ result: T; audit: ActionAudit | null }>,
) {
  if (!isUuid(orgId)) return Promise.reject(new NoSuchOrganization());
  return admin.withTenant(orgId, async (tx) => {
    // Locked: a deletion requested meanwhile waits for this transaction, so
    // the chain head cannot go between this check and the append below.
    const org = await lockOrganization(tx, orgId);
    if (!org) throw new NoSuchOrganization();
    const deleting = org.deletionRequestedAt;
    if (deleting && whileDeleting === 'refuse') throw new OrganizationBeingDeleted(deleting);
    const { result, audit } = await fn(tx, { deletionRequestedAt: deleting });
    if (audit) await auditOperator(tx, { ...request, ...audit, orgId, ...(deleting ? { notInOrganizationChain: DELETING_NOT_IN_ORGANIZATION_CHAIN } : {}) });
    return result;
  });
}

// postgres.js hands timestamps over as text here (db/connection.ts keeps microseconds).
type OrganizationRow = { id: string; name: string; slug: string; created_at: string; deletion_requested_at: string | null; members: string; audit_seq: string };

export interface OrganizationSummary {
  id: string;
  name: string;
  slug: string;
  createdAt: string;
  deletionRequestedAt: string | null;
  members: number;
  /** Length of the organization's audit chain. */
  auditSeq: number;
  rows: number;
  bytes: number;
}

/** Every organization's names and counts (newest first, at most 500): what the pages list without usage. */
export async function organizationRows(admin: Database) {
  const orgs = await admin.sql<OrganizationRow[]>`select * from kommit_admin_organizations() limit 500`;
  return orgs.map((o) => ({
    id: o.id,
    name: o.name,
    slug: o.slug,
    createdAt: o.created_at,
    deletionRequestedAt: o.deletion_requested_at,
    members: Number(o.members),
    auditSeq: Number(o.audit_seq),
  }));
}

/** organizationRows with each organization's rows and estimated bytes over all tenant tables. */
export async function listOrganizations(admin: Database): Promise<OrganizationSummary[]> {
  const orgs = await organizationRows(admin);
  const totals = new Map<string, { rows: number; bytes: number }>();
  for (const u of await organizationUsage(admin, orgs.map((o) => o.id))) {
    const total = totals.get(u.orgId) ?? { rows: 0, bytes: 0 };
    total.rows += u.rows;
    total.bytes += u.bytes;
    totals.set(u.orgId, total);
  }
  return orgs.map((o) => ({ ...o, ...(totals.get(o.id) ?? { rows: 0, bytes: 0 }) }));
}

/** Rows and estimated bytes per tenant table, for the given organizations (tables where they have rows). */
export async function organizationUsage(admin: Database, orgIds: string[]) {
  if (orgIds.length === 0) return [];
  const rows = await admin.sql<{ org_id: string; table_name: string; row_count: string; bytes: string }[]>`
    select * from kommit_admin_usage(${uuidArray(orgIds)}::uuid[]) order by table_name`;
  return rows.map((r) => ({ orgId: r.org_id, table: r.table_name, rows: Number(r.row_count), bytes: Number(r.bytes) }));
}

/** One organization's metadata page: usage per table, and what content exists (ids and kinds, no text). */
export async function organizationDetail(admin: Database, orgId: string, request: OperatorRequest) {
  // Everything but usage is read inside the organization's own tenant context.
  const detail = await inOrganization(admin, orgId, request, 'platform-only', async (tx) => ({
    result: {
      org: (
        await tx.execute<{ id: string; name: string; slug: string; deletion_requested_at: string | null; members: number; audit_seq: number }>(sql`
          select o.id, o.name, o.slug, o.deletion_requested_at::text as deletion_requested_at,
                 (select count(*)::int from members) as members,
                 coalesce((select seq::int8 from audit_chain_heads), 0)::int8 as audit_seq
          from organizations o`)
      )[0]!,
      decisionEvents: await tx
        .select({ id: decisionEvents.id, kind: decisionEvents.kind, status: decisionEvents.status, createdAt: decisionEvents.createdAt })
        .from(decisionEvents)
        .orderBy(...newestFirst(decisionEvents.createdAt))
        .limit(20),
      transcripts: await tx
        .select({ id: supportTranscripts.id, channel: supportTranscripts.channel, createdAt: supportTranscripts.createdAt, messages: sql<number>`(select count(*)::int from support_messages m where m.org_id = ${supportTranscripts.orgId} and m.transcript_id = ${supportTranscripts.id})` })
        .from(supportTranscripts)
        .orderBy(...newestFirst(supportTranscripts.createdAt))
        .limit(20),
    },
    audit: { action: 'operator.organization_view', targetType: 'organization', targetId: orgId },
  }));
  const { org, ...content } = detail;
  return {
    org: { id: org.id, name: org.name, slug: org.slug, members: Number(org.members), auditSeq: Number(org.audit_seq), deletionRequestedAt: org.deletion_requested_at },
    usage: await organizationUsage(admin, [orgId]),
    ...content,
  };
}

/**
 * Verifies one organization's chain on an operator's demand. Not once its
 * deletion was requested: the worker removes the chain in batches, so any
 * verdict would only describe how far the deletion got.
 */
export function verifyOrganizationChain(admin: Database, orgId: string, request: OperatorRequest) {
  return inOrganization(admin, orgId, request, 'refuse', async (tx) => {
    const report = await readChain(tx, orgId, { signer: request.signer });
    return {
      result: report,
      audit: { action: 'operator.audit_verify', targetType: 'audit_log', data: { ok: report.ok, rowsChecked: report.rowsChecked, firstBreak: report.firstBreak } },
    };
  });
}

export type ContentKind = 'decision_event' | 'transcript';

/**
 * Reads one piece of tenant content. A reason is required and recorded in
 * both chains with the read, in the same transaction: no reason, no content.
 * Not for an organization being deleted: its owner asked for its content to go.
 */
export function readTenantContent(admin: Database, orgId: string, kind: ContentKind, id: string, reason: string, request: OperatorRequest) {
  if (reason.trim().length < 10) throw new Error('a reason of at least 10 characters is required to read tenant content');
  return inOrganization(admin, orgId, request, 'refuse', async (tx) => {
    const content = kind === 'decision_event' ? await readDecisionEvent(tx, id) : await readTranscript(tx, id);
    return {
      result: content,
      audit: content ? { action: 'operator.content_read', targetType: kind, targetId: id, reason: reason.trim() } : null,
    };
  });
}

async function readDecisionEvent(tx: Tx, id: string) {
  const [event] = await tx.select().from(decisionEvents).where(eq(decisionEvents.id, id));
  return event ? { kind: 'decision_event' as const, event } : null;
}

async function readTranscript(tx: Tx, id: string) {
  const [transcript] = await tx.select().from(supportTranscripts).where(eq(supportTranscripts.id, id));
  if (!transcript) return null;
  const messages = await tx.select().from(supportMessages).where(eq(supportMessages.transcriptId, id)).orderBy(asc(supportMessages.position));
  return { kind: 'transcript' as const, transcript, messages };
}

export function deletionRecords(admin: Database) {
  return admin.db.select().from(organizationDeletions).orderBy(desc(organizationDeletions.requestedAt)).limit(200);
}

export type JobState = 'pending' | 'running' | 'failed' | 'dead';

export interface QueuedJob {
  id: string;
  task: string;
  orgId: string | null;
  state: JobState;
  attempts: number;
  maxAttempts: number;
  runAt: string;
  lastError: string | null;
}

/**
 * The job queue as graphile-worker keeps it: pending (waiting to run),
 * running (locked by a worker), failed (will be retried), dead (out of
 * attempts). A lock older than graphile-worker's four hours belongs to a
 * worker that died: the job is failed, free to be taken (and retried) again.
 * Payloads are not shown; the organization is the one kommit_enqueue stamped.
 */
const LIVE_LOCK = `(locked_at is not null and locked_at > now() - interval '4 hours')`;
export async function listJobs(admin: Database, state?: JobState) {
  const rows = await admin.sql<{ id: string; task: string; org_id: string | null; state: JobState; attempts: number; max_attempts: number; run_at: string; last_error: string | null }[]>`
    select * from (
      select j.id::text as id, t.identifier as task, j.payload->>'orgId' as org_id, j.attempts, j.max_attempts, j.run_at,
             left(j.last_error, 500) as last_error,
             case when ${admin.sql.unsafe(LIVE_LOCK)} then 'running'
                  when j.attempts >= j.max_attempts then 'dead'
                  when j.attempts > 0 or j.locked_at is not null then 'failed'
                  else 'pending' end as state
      from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
    ) jobs
    where ${state ?? null}::text is null or state = ${state ?? null}::text
    order by run_at desc, id desc limit 200`;
  const [counts] = await admin.sql<Record<JobState, number>[]>`
    select count(*) filter (where locked_at is null and attempts = 0)::int as pending,
           count(*) filter (where ${admin.sql.unsafe(LIVE_LOCK)})::int as running,
           count(*) filter (where not ${admin.sql.unsafe(LIVE_LOCK)} and attempts < max_attempts and (attempts > 0 or locked_at is not null))::int as failed,
           count(*) filter (where not ${admin.sql.unsafe(LIVE_LOCK)} and attempts >= max_attempts)::int as dead
    from graphile_worker._private_jobs`;
  const jobs: QueuedJob[] = rows.map((r) => ({
    id: r.id,
    task: r.task,
    orgId: r.org_id && isUuid(r.org_id) ? r.org_id : null,
    state: r.state,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    runAt: r.run_at,
    lastError: r.last_error,
  }));
  return { jobs, counts: counts! };
}

/**
 * Runs a failed or dead job again now, with its attempts reset. Recorded in
 * the job's organization's chain too, when it has one that is not being
 * deleted (restarting a stalled org.delete must work: it is how an operator
 * finishes a deletion). Returns null when the job is gone or running, else
 * why the organization's chain did not get the row, if it did not.
 */
export async function retryJob(admin: Database, jobId: string, request: OperatorRequest): Promise<{ notInOrganizationChain?: string } | null> {
  // Job ids are bigints; anything longer than 18 digits could overflow the cast.
  if (!/^[1-9]\d{0,17}$/.test(jobId)) return null;
  const [job] = await admin.sql<{ task: string; org_id: string | null }[]>`
    select t.identifier as task, j.payload->>'orgId' as org_id
    from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
    where j.id = ${jobId} and not ${admin.sql.unsafe(LIVE_LOCK)} and (j.attempts > 0 or j.locked_at is not null)`;
  // Only failed or dead jobs are retried: a pending one is not brought forward.
  if (!job) return null;
  const retry = async (tx: Tx) => {
    const rescheduled = await tx.execute(sql`select id from graphile_worker.reschedule_jobs(array[${jobId}]::bigint[], run_at => now(), attempts => 0)`);
    return rescheduled.length > 0;
  };
  const audit = { action: 'operator.job_retry', targetType: 'job', targetId: jobId, data: { task: job.task } };
  const orgId = job.org_id && isUuid(job.org_id) ? job.org_id : null;
  if (orgId) {
    const outcome = await inOrganization(admin, orgId, request, 'platform-only', async (tx, org) => {
      const done = await retry(tx);
      return { result: done ? { notInOrganizationChain: org.deletionRequestedAt ? DELETING_NOT_IN_ORGANIZATION_CHAIN : undefined } : null, audit: done ? audit : null };
    }).catch((error: unknown) => {
      // An organization already gone (an org.delete that crashed after removing
      // its row, say) has no chain left: the platform chain alone records it.
      if (error instanceof NoSuchOrganization) return 'gone' as const;
      throw error;
    });
    if (outcome !== 'gone') return outcome;
  }
  const notInOrganizationChain = orgId ? 'the organization no longer exists' : undefined;
  return admin.db.transaction(async (tx) => {
    const done = await retry(tx);
    if (done) await auditOperator(tx, { ...request, ...audit, orgId, notInOrganizationChain });
    return done ? { notInOrganizationChain } : null;
  });
}

export async function webhookFailures(admin: Database) {
  const rows = await admin.sql<{ org_id: string; id: string; endpoint_id: string; status: string; attempts: number; last_error: string | null; received_at: string }[]>`
    select * from kommit_admin_webhook_failures(200)`;
  return rows.map((r) => ({ orgId: r.org_id, id: r.id, endpointId: r.endpoint_id, status: r.status, attempts: r.attempts, lastError: r.last_error, receivedAt: r.received_at }));
}

/**
 * Hands a dead delivery back to the relay (status received, attempts reset),
 * in its organization. Not for an organization being deleted: the relay would
 * only feed data into an organization on its way out.
 */
export function retryWebhookDelivery(admin: Database, orgId: string, deliveryId: string, request: OperatorRequest) {
  return inOrganization(admin, orgId, request, 'refuse', async (tx) => {
    const updated = await tx.execute(sql`
      update webhook_deliveries set status = 'received', attempts = 0, last_error = null
      where id = ${deliveryId} and status = 'dead' returning id`);
    const done = updated.length > 0;
    return { result: done, audit: done ? { action: 'operator.webhook_retry', targetType: 'webhook_delivery', targetId: deliveryId } : null };
  });
}
