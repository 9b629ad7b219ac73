import { sql } from 'drizzle-orm';
import { boolean, check, foreignKey, index, integer, pgTable, primaryKey, text, unique, uuid } from 'drizzle-orm/pg-core';
import { timestampColumn } from './columns.ts';
import { orgIdColumn } from './organizations.ts';
import { projects } from './projects.ts';
import { workflows } from './workflows.ts';

/** What a verified delivery becomes. */
export const webhookTargets = ['decision_event', 'workflow_run', 'raw_event'] as const;
export const deliveryStatuses = ['received', 'queued', 'processed', 'retrying', 'dead'] as const;

/**
 * An inbound webhook endpoint of a customer system: POST /hooks/{id}, signed
 * per Standard Webhooks. Secrets are stored sealed (AES-256-GCM under a key
 * from configuration, bound to the endpoint id), never in plain text; during a
 * rotation the previous secret keeps verifying until `previousSecretExpiresAt`.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    orgId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    projectId: uuid('project_id').notNull(),
    target: text('target', { enum: webhookTargets }).notNull(),
    /** The workflow a `workflow_run` endpoint starts. */
    workflowId: uuid('workflow_id'),
    enabled: boolean('enabled').notNull().default(true),
    sealedSecret: text('sealed_secret').notNull(),
    sealedPreviousSecret: text('sealed_previous_secret'),
    previousSecretExpiresAt: timestampColumn('previous_secret_expires_at'),
    createdAt: timestampColumn('created_at').notNull().defaultNow(),
    updatedAt: timestampColumn('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    // The id alone finds the endpoint for an incoming delivery, before its
    // organization is known (not unique on its own: see the catalog test).
    index('webhook_endpoints_id_idx').on(t.id),
    foreignKey({ columns: [t.orgId, t.projectId], foreignColumns: [projects.orgId, projects.id], name: 'webhook_endpoints_project_fk' }).onDelete('cascade'),
    foreignKey({ columns: [t.orgId, t.workflowId], foreignColumns: [workflows.orgId, workflows.id], name: 'webhook_endpoints_workflow_fk' }).onDelete('cascade'),
    index('webhook_endpoints_org_created_idx').on(t.orgId, t.createdAt.desc(), t.id.desc()),
    index('webhook_endpoints_project_idx').on(t.orgId, t.projectId),
    index('webhook_endpoints_workflow_idx').on(t.orgId, t.workflowId).where(sql`${t.workflowId} is not null`),
    check('webhook_endpoints_target_check', sql`${t.target} in ('decision_event', 'workflow_run', 'raw_event')`),
    check('webhook_endpoints_workflow_check', sql`(${t.target} = 'workflow_run') = (${t.workflowId} is not null)`),
  ],
);

/**
 * One verified delivery, stored before we answer 2xx. `messageId` (the
 * webhook-id header) is unique per endpoint: a redelivery stores nothing new.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    orgId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    endpointId: uuid('endpoint_id').notNull(),
    messageId: text('message_id').notNull(),
    sentAt: timestampColumn('sent_at').notNull(),
    body: text('body').notNull(),
    status: text('status', { enum: deliveryStatuses }).notNull().default('received'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    resultType: text('result_type'),
    resultId: uuid('result_id'),
    receivedAt: timestampColumn('received_at').notNull().defaultNow(),
    processedAt: timestampColumn('processed_at'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    unique('webhook_deliveries_message_unique').on(t.orgId, t.endpointId, t.messageId),
    foreignKey({ columns: [t.orgId, t.endpointId], foreignColumns: [webhookEndpoints.orgId, webhookEndpoints.id], name: 'webhook_deliveries_endpoint_fk' }).onDelete('cascade'),
    index('webhook_deliveries_endpoint_received_idx').on(t.orgId, t.endpointId, t.receivedAt.desc(), t.id.desc()),
    check('webhook_deliveries_status_check', sql`${t.status} in ('received', 'queued', 'processed', 'retrying', 'dead')`),
    // The dispatcher finds what arrived and is not queued yet.
    index('webhook_deliveries_received_idx').on(t.orgId, t.receivedAt).where(sql`${t.status} = 'received'`),
  ],
);
