import { createRoute, z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { controlLibrary, findTemplate } from '../../../db/controls/library.ts';
import { firstCollectionAt, normalizeMappings } from '../../../db/controls/sources.ts';
import { controlFrameworks, controls } from '../../../db/schema/controls.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, SESSION_ONLY } from '../../../middleware/openapi.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { adoptedFrameworkSchema, controlSchema, toAdopted, toControl } from '../schemas.ts';

const libraryEntry = z
  .object({
    framework: z.string().openapi({ example: 'soc2' }),
    version: z.string().openapi({ example: '2017-tsc-rev2022' }),
    title: z.string(),
    notice: z.string(),
    controls: z.array(z.object({ ref: z.string(), title: z.string(), description: z.string() })),
    adopted: adoptedFrameworkSchema.nullable(),
  })
  .openapi('FrameworkTemplate');

export const listRoute = createRoute({
  method: 'get',
  path: '/v1/controls/frameworks',
  tags: ['controls'],
  summary: 'The shipped control library, and which frameworks this organization adopted',
  responses: { 200: jsonResponse(z.object({ data: z.array(libraryEntry) }), 'Framework templates.'), ...commonErrors },
});

export const adoptBody = z
  .object({ framework: z.string().min(1).max(100), version: z.string().min(1).max(100) })
  .openapi('AdoptFramework', { example: { framework: 'soc2', version: '2017-tsc-rev2022' } });

export const adoptRoute = createRoute({
  method: 'post',
  path: '/v1/controls/frameworks',
  security: SESSION_ONLY,
  tags: ['controls'],
  summary: 'Adopt a framework: its template controls become this organization’s own, to edit',
  request: { body: jsonBody(adoptBody) },
  responses: {
    201: jsonResponse(adoptedFrameworkSchema.extend({ controls: z.array(controlSchema) }), 'The adopted framework and its controls.'),
    ...commonErrors,
    409: { description: 'The framework is adopted already.' },
  },
});

export function registerFrameworkRoutes(app: FunctionApp) {
  app.openapi(listRoute, async (c) => {
    const adopted = await c.var.tx.select().from(controlFrameworks);
    const data = controlLibrary().map((t) => {
      const mine = adopted.find((a) => a.framework === t.framework && a.version === t.version);
      return {
        framework: t.framework,
        version: t.version,
        title: t.title,
        notice: t.notice,
        controls: t.controls.map(({ ref, title, description }) => ({ ref, title, description })),
        adopted: mine ? toAdopted(mine) : null,
      };
    });
    return c.json({ data }, 200);
  });

  app.openapi(adoptRoute, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const { framework, version } = c.req.valid('json');
    const template = findTemplate(framework, version);
    if (!template) {
      const known = controlLibrary().map((t) => `${t.framework}@${t.version}`).join(', ');
      throw new ApiError('invalid_request', `No framework ${framework} version ${version} in the library; known: ${known}.`, {
        errors: [{ path: 'json.framework', message: 'unknown framework or version' }],
      });
    }
    const [existing] = await c.var.tx.select().from(controlFrameworks).where(eq(controlFrameworks.framework, framework));
    if (existing) throw new ApiError('conflict', `This organization adopted ${framework} (version ${existing.version}) already.`);
    const orgId = c.var.org.id;
    // A concurrent adoption of the same framework loses here, as a 409, not a 500.
    const [adopted] = await c.var.tx.insert(controlFrameworks).values({ orgId, framework, version, title: template.title }).onConflictDoNothing().returning();
    if (!adopted) throw new ApiError('conflict', `This organization adopted ${framework} already.`);
    const rows = await c.var.tx
      .insert(controls)
      .values(
        template.controls.map((t) => ({
          orgId,
          frameworkId: adopted!.id,
          ref: t.ref,
          title: t.title,
          description: t.description,
          evidence: normalizeMappings(t.evidence),
          scheduleMinutes: t.scheduleMinutes ?? null,
          nextCollectionAt: firstCollectionAt(t.scheduleMinutes, t.evidence.length),
        })),
      )
      .returning();
    await audit(c, {
      action: 'control_framework.adopt',
      targetType: 'control_framework',
      targetId: adopted!.id,
      data: { framework, version, controls: rows.map((r) => ({ id: r.id, ref: r.ref })) },
    });
    return c.json({ ...toAdopted(adopted!), controls: rows.map(toControl) }, 201);
  });
}
