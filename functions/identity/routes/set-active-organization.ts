import { createRoute, z } from '@hono/zod-openapi';
import { APIError } from 'better-auth/api';
import { betterAuthHeaders } from '../../../middleware/addresses.ts';
import { assertSameOrigin } from '../../../middleware/authenticate.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';

export const setActiveOrganizationBody = z
  .object({ organizationId: z.uuid().openapi({ example: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d' }) })
  .openapi('SetActiveOrganization');

export const activeOrganizationSchema = z
  .object({ organizationId: z.uuid(), name: z.string(), slug: z.string() })
  .openapi('ActiveOrganization');

export const route = createRoute({
  method: 'post',
  path: '/v1/session/active-organization',
  tags: ['session'],
  summary: "Switch the session's active organization",
  description:
    'Rebinds the active organization of this session on the server, after checking membership. ' +
    'Every later request of the session works in that organization; nothing the client sends on ordinary requests can change it.',
  security: [{ session: [] }],
  request: { body: jsonBody(setActiveOrganizationBody) },
  responses: {
    200: jsonResponse(activeOrganizationSchema, 'The session now works in this organization.'),
    ...commonErrors,
    ...notFoundError,
  },
});

export function registerSetActiveOrganization(app: FunctionApp) {
  app.openapiWithoutTenant(route, async (c) => {
    const { auth } = c.get('platform');
    const { organizationId } = c.req.valid('json');
    const session = await auth.api.getSession({ headers: betterAuthHeaders(c), query: { disableCookieCache: true } });
    if (!session) throw new ApiError('unauthorized', 'Sign in first.', { headers: { 'www-authenticate': 'Bearer realm="kommit"' } });
    // Outside the chain, so authenticate's Origin check is made here: another
    // site must not move a signed-in browser into another organization.
    assertSameOrigin(c);
    try {
      // Better Auth checks the membership row before it rebinds the session.
      const org = await auth.api.setActiveOrganization({ headers: betterAuthHeaders(c), body: { organizationId } });
      if (!org) throw new ApiError('not_found', 'No such organization among yours.');
      return c.json({ organizationId: org.id, name: org.name, slug: org.slug }, 200);
    } catch (error) {
      // Not a member and no such organization answer alike: both are "not yours".
      if (error instanceof APIError && error.statusCode < 500) throw new ApiError('not_found', 'No such organization among yours.');
      throw error;
    }
  });
}
