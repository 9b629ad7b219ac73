import { z } from '@hono/zod-openapi';
import { validateMapping, evidenceSourceNames } from '../../db/controls/sources.ts';
import { controlStatuses, type controlFrameworks, type controls, type evidenceSnapshots } from '../../db/schema/controls.ts';

const CONTROL_ID = '6d1f0c3a-2b7e-4c59-9a4e-1f3b5c7d9e02';

export const controlIdParams = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, example: CONTROL_ID }),
});

/** A control's mapping to an evidence source; the parameters are checked against that source's own schema. */
export const mappingSchema = z
  .object({
    source: z.string().openapi({ description: `One of: ${evidenceSourceNames.join(', ')}.`, example: 'api_key_age' }),
    parameters: z.record(z.string(), z.unknown()).default({}).openapi({ example: { maxAgeDays: 90 } }),
  })
  .superRefine((mapping, ctx) => {
    for (const issue of validateMapping(mapping)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  })
  .openapi('EvidenceMapping');

export const evidenceList = z.array(mappingSchema).max(20);

export const controlSchema = z
  .object({
    id: z.uuid().openapi({ example: CONTROL_ID }),
    frameworkId: z.uuid().nullable().openapi({ description: 'The adopted framework it came from; null for the organization’s own controls.' }),
    ref: z.string().openapi({ example: 'CC6.1' }),
    title: z.string(),
    description: z.string(),
    owner: z.string().nullable().openapi({ example: 'security@acme.test' }),
    status: z.enum(controlStatuses),
    applicable: z.boolean(),
    notes: z.string(),
    evidence: z.array(z.object({ source: z.string(), parameters: z.record(z.string(), z.unknown()) })),
    scheduleMinutes: z.number().int().nullable().openapi({ description: 'How often the worker collects evidence; null: on demand only.' }),
    nextCollectionAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Control');

export function toControl(row: typeof controls.$inferSelect) {
  return {
    id: row.id,
    frameworkId: row.frameworkId,
    ref: row.ref,
    title: row.title,
    description: row.description,
    owner: row.owner,
    status: row.status,
    applicable: row.applicable,
    notes: row.notes,
    evidence: row.evidence,
    scheduleMinutes: row.scheduleMinutes,
    nextCollectionAt: row.nextCollectionAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export const snapshotSchema = z
  .object({
    id: z.uuid(),
    controlId: z.uuid(),
    source: z.string(),
    parameters: z.record(z.string(), z.unknown()),
    passed: z.boolean(),
    trigger: z.enum(['on_demand', 'schedule']),
    collectedAt: z.string(),
    contentHash: z.string().openapi({ description: 'SHA-256 (hex) of `content`, also recorded in the audit chain.' }),
    content: z.string().openapi({ description: 'The snapshot as canonical JSON: summary, result and rows.' }),
  })
  .openapi('EvidenceSnapshot');

export function toSnapshot(row: typeof evidenceSnapshots.$inferSelect) {
  return {
    id: row.id,
    controlId: row.controlId,
    source: row.source,
    parameters: row.parameters as Record<string, unknown>,
    passed: row.passed,
    trigger: row.trigger,
    collectedAt: row.collectedAt,
    contentHash: row.contentHash,
    content: row.content,
  };
}

export const adoptedFrameworkSchema = z
  .object({ id: z.uuid(), framework: z.string(), version: z.string(), title: z.string(), adoptedAt: z.string() })
  .openapi('AdoptedFramework');

export function toAdopted(row: typeof controlFrameworks.$inferSelect) {
  return { id: row.id, framework: row.framework, version: row.version, title: row.title, adoptedAt: row.adoptedAt };
}
