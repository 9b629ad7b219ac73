import { sql } from 'drizzle-orm';
import { boolean, check, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, unique, uuid } from 'drizzle-orm/pg-core';
import { timestampColumn } from './columns.ts';
import { orgIdColumn } from './organizations.ts';

export const controlStatuses = ['not_started', 'in_progress', 'implemented', 'not_applicable'] as const;

/** One evidence source a control is mapped to: a named query and its parameters (checked by zod in db/controls/sources.ts). */
export interface EvidenceMapping {
  source: string;
  parameters: Record<string, unknown>;
}

/** A framework (name and version from the shipped library) an organization adopted. */
export const controlFrameworks = pgTable(
  'control_frameworks',
  {
    orgId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    framework: text('framework').notNull(),
    version: text('version').notNull(),
    title: text('title').notNull(),
    adoptedAt: timestampColumn('adopted_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    // One adopted version per framework: moving to a new version is a separate, explicit step.
    unique('control_frameworks_framework_unique').on(t.orgId, t.framework),
  ],
);

/**
 * A tenant-owned control: instantiated from a library template when its
 * framework is adopted (then `frameworkId` is set), or the organization's own.
 * Everything but the reference id is the organization's to edit.
 */
export const controls = pgTable(
  'controls',
  {
    orgId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    frameworkId: uuid('framework_id'),
    /** The framework's official reference (e.g. CC6.1, Art. 17) or the organization's own id. */
    ref: text('ref').notNull(),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    owner: text('owner'),
    status: text('status', { enum: controlStatuses }).notNull().default('not_started'),
    applicable: boolean('applicable').notNull().default(true),
    notes: text('notes').notNull().default(''),
    evidence: jsonb('evidence').$type<EvidenceMapping[]>().notNull().default([]),
    /** How often the worker collects evidence; null: on demand only. */
    scheduleMinutes: integer('schedule_minutes'),
    nextCollectionAt: timestampColumn('next_collection_at'),
    createdAt: timestampColumn('created_at').notNull().defaultNow(),
    updatedAt: timestampColumn('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({ columns: [t.orgId, t.frameworkId], foreignColumns: [controlFrameworks.orgId, controlFrameworks.id], name: 'controls_framework_fk' }).onDelete('cascade'),
    unique('controls_framework_ref_unique').on(t.orgId, t.frameworkId, t.ref),
    index('controls_framework_idx').on(t.orgId, t.frameworkId),
    index('controls_org_created_idx').on(t.orgId, t.createdAt.desc(), t.id.desc()),
    // The relay asks every second which controls are due across all organizations: led by the due time.
    index('controls_due_idx').on(t.nextCollectionAt).where(sql`${t.nextCollectionAt} is not null`),
    check('controls_status_check', sql`${t.status} in ('not_started', 'in_progress', 'implemented', 'not_applicable')`),
    check('controls_schedule_check', sql`${t.scheduleMinutes} is null or ${t.scheduleMinutes} between 5 and 525600`),
  ],
);

/**
 * What one evidence source said about one control at one moment. Written once
 * (kommit_app may only INSERT and SELECT; a trigger refuses changes to anyone),
 * `content` is the canonical JSON that `contentHash` (SHA-256, hex) covers and
 * that an evidence pack carries byte for byte.
 */
export const evidenceSnapshots = pgTable(
  'evidence_snapshots',
  {
    orgId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    controlId: uuid('control_id').notNull(),
    source: text('source').notNull(),
    parameters: jsonb('parameters').notNull(),
    passed: boolean('passed').notNull(),
    trigger: text('trigger', { enum: ['on_demand', 'schedule'] }).notNull(),
    collectedAt: timestampColumn('collected_at').notNull(),
    content: text('content').notNull(),
    contentHash: text('content_hash').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({ columns: [t.orgId, t.controlId], foreignColumns: [controls.orgId, controls.id], name: 'evidence_snapshots_control_fk' }).onDelete('cascade'),
    index('evidence_snapshots_control_idx').on(t.orgId, t.controlId, t.collectedAt.desc()),
    index('evidence_snapshots_org_collected_idx').on(t.orgId, t.collectedAt),
    check('evidence_snapshots_trigger_check', sql`${t.trigger} in ('on_demand', 'schedule')`),
  ],
);
