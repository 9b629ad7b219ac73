import { z } from '@hono/zod-openapi';

/** The problem+json body, for route declarations. */
export const problemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:kommit:problem:not-found' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().openapi({ description: 'The request id.' }),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: problemSchema } },
});

/** Error responses every tenant route can give. */
export const commonErrors = {
  400: problem('The request is not valid; `errors` names the fields.'),
  401: problem('No valid credential.'),
  403: problem('Not allowed, or not over HTTPS.'),
  500: problem('Internal error; nothing was written.'),
} as const;

export const notFoundError = { 404: problem('No such resource in this organization.') } as const;

export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return { required: true, description, content: { 'application/json': { schema } } };
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}
