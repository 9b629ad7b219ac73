import { createRoute, z } from '@hono/zod-openapi';
import { listMemberships } from '../../../auth/memberships.ts';
import { betterAuthHeaders } from '../../../middleware/addresses.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse } from '../../../middleware/openapi.ts';

export const sessionSchema = z
  .object({
    user: z.object({ id: z.uuid(), name: z.string(), email: z.string() }),
    activeOrganizationId: z.uuid().nullable(),
    organizations: z.array(z.object({ id: z.uuid(), name: z.string(), slug: z.string(), role: z.string() })),
  })
  .openapi('Session');

export const route = createRoute({
  method: 'get',
  path: '/v1/session',
  tags: ['session'],
  summary: 'Who am I: the signed-in user, the active organization and all memberships',
  security: [{ session: [] }],
  responses: { 200: jsonResponse(sessionSchema, 'The current session.'), ...commonErrors },
});

export function registerGetSession(app: FunctionApp) {
  app.openapiWithoutTenant(route, async (c) => {
    const { auth, authDatabase } = c.get('platform');
    const session = await auth.api.getSession({ headers: betterAuthHeaders(c), query: { disableCookieCache: true } });
    if (!session) throw new ApiError('unauthorized', 'Sign in first.', { headers: { 'www-authenticate': 'Bearer realm="kommit"' } });
    const memberships = await listMemberships(authDatabase, session.user.id);
    const active = (session.session as { activeOrganizationId?: string | null }).activeOrganizationId ?? null;
    return c.json(
      {
        user: { id: session.user.id, name: session.user.name, email: session.user.email },
        // Only a claim the membership list still backs is reported as active.
        activeOrganizationId: memberships.some((m) => m.id === active) ? active : null,
        organizations: memberships,
      },
      200,
    );
  });
}
