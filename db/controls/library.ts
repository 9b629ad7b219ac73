import { z } from 'zod';
import { validateMapping } from './sources.ts';
// Imported, not read from disk: bundles (esbuild, workerd) carry the data with the code.
import euAiAct from './frameworks/eu-ai-act-2024.json' with { type: 'json' };
import gdpr from './frameworks/gdpr-2016.json' with { type: 'json' };
import soc2 from './frameworks/soc2-2017.json' with { type: 'json' };

const SHIPPED: Record<string, unknown> = { 'soc2-2017.json': soc2, 'gdpr-2016.json': gdpr, 'eu-ai-act-2024.json': euAiAct };

/**
 * The control library: framework templates shipped with the code as JSON
 * (frameworks/*.json, listed below), checked by this schema when first read, so a broken
 * template fails at start-up and in the tests, never in a customer's request.
 */
const templateControl = z.object({
  ref: z.string().min(1).max(50),
  title: z.string().min(1).max(300),
  description: z.string().max(4000),
  evidence: z.array(z.object({ source: z.string(), parameters: z.record(z.string(), z.unknown()) })),
  scheduleMinutes: z.number().int().min(5).max(525_600).optional(),
});

export const frameworkTemplateSchema = z
  .object({
    framework: z.string().regex(/^[a-z0-9-]+$/),
    version: z.string().regex(/^[A-Za-z0-9._-]+$/),
    title: z.string().min(1),
    notice: z.string().min(1),
    controls: z.array(templateControl).min(1),
  })
  .superRefine((template, ctx) => {
    const refs = new Set<string>();
    template.controls.forEach((control, i) => {
      if (refs.has(control.ref)) ctx.addIssue({ code: 'custom', path: ['controls', i, 'ref'], message: `duplicate ref ${control.ref}` });
      refs.add(control.ref);
      control.evidence.forEach((mapping, j) => {
        for (const issue of validateMapping(mapping)) ctx.addIssue({ code: 'custom', path: ['controls', i, 'evidence', j, ...issue.path], message: issue.message });
      });
    });
  });

export type FrameworkTemplate = z.infer<typeof frameworkTemplateSchema>;

let cached: FrameworkTemplate[] | undefined;

export function controlLibrary(): FrameworkTemplate[] {
  if (!cached) {
    cached = Object.entries(SHIPPED).map(([file, data]) => {
      const parsed = frameworkTemplateSchema.safeParse(data);
      if (!parsed.success) throw new Error(`control library ${file} is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return parsed.data;
    });
  }
  return cached;
}

export function findTemplate(framework: string, version: string) {
  return controlLibrary().find((t) => t.framework === framework && t.version === version);
}
