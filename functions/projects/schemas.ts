import { z } from '@hono/zod-openapi';
import { projectStatuses } from '../../db/schema/projects.ts';

export const projectSchema = z
  .object({
    id: z.uuid().openapi({ example: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d' }),
    name: z.string().openapi({ example: 'Loan approvals' }),
    description: z.string().nullable().openapi({ example: 'Credit decisions reviewed by the risk team.' }),
    status: z.enum(projectStatuses).openapi({ example: 'active' }),
    createdAt: z.string().openapi({ example: '2026-11-26T08:00:00.123456Z' }),
    updatedAt: z.string().openapi({ example: '2026-11-26T08:00:00.123456Z' }),
  })
  .openapi('Project');

export const projectIdParams = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, example: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d' }),
});

export const projectName = z.string().trim().min(1).max(200);
export const projectDescription = z.string().max(10_000).nullable();

/** The columns the API returns; org_id stays inside the tenant boundary. */
export function toProject(row: {
  id: string;
  name: string;
  description: string | null;
  status: (typeof projectStatuses)[number];
  createdAt: string;
  updatedAt: string;
}) {
  return { id: row.id, name: row.name, description: row.description, status: row.status, createdAt: row.createdAt, updatedAt: row.updatedAt };
}
