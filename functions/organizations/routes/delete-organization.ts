import { createRoute, z } from '@hono/zod-openapi';
import { eq, sql } from 'drizzle-orm';
import { sessions } from '../../../db/schema/auth.ts';
import { organizations } from '../../../db/schema/organizations.ts';
import { betterAuthHeaders, requestAddress } from '../../../middleware/addresses.ts';
import { sqlStateOf } from '../../../db/query-errors.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { Context } from 'hono';
import type { AppEnv } from '../../../middleware/env.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError, problem, SESSION_ONLY } from '../../../middleware/openapi.ts';
import { requireRole } from '../../../middleware/roles.ts';

/** A session this young counts as a fresh sign-in; older ones must give the password again. */
export const FRESH_SESSION_SECONDS = 5 * 60;

const params = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, example: '0b7c3f8e-2a54-4d6b-9d7e-6f1f5c2e8a10' }) });

const body = z
  .object({
    confirm: z.string().min(1).max(200).openapi({ description: "The organization's slug, typed out.", example: 'acme' }),
    password: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .openapi({ description: `The account password; needed unless the session is under ${FRESH_SESSION_SECONDS / 60} minutes old.`, example: 'correct horse battery staple' }),
  })
  .openapi('DeleteOrganization');

const deletionSchema = z
  .object({
    id: z.uuid().openapi({ description: 'The platform-level deletion record.' }),
    organizationId: z.uuid(),
    status: z.literal('deleting'),
  })
  .openapi('OrganizationDeletion', {
    example: { id: '5d0e7c4a-1f0b-4a51-9a43-3a9a7c3f0c11', organizationId: '0b7c3f8e-2a54-4d6b-9d7e-6f1f5c2e8a10', status: 'deleting' },
  });

export const route = createRoute({
  method: 'delete',
  path: '/v1/organizations/{id}',
  security: SESSION_ONLY,
  tags: ['organizations'],
  summary: 'Delete the organization and everything it owns, for good',
  description:
    'Owners only, signed in (not with an API key), with the slug typed out and a fresh sign-in or the password. ' +
    'The organization becomes unreachable at once (members, invitations and keys are removed, sessions lose it); ' +
    'its remaining rows are removed by a background job. Nothing is kept but a platform record of who asked and when.',
  request: { params, body: jsonBody(body) },
  responses: {
    202: jsonResponse(deletionSchema, 'The organization is unreachable; its rows are being removed.'),
    ...commonErrors,
    ...notFoundError,
    409: problem('Another request is deleting this organization right now.'),
    422: problem('The confirmation does not match the slug.'),
  },
});

/**
 * A password given is checked (and counted like a sign-in attempt); without one
 * the session must be fresh. Returns the signed-in user's id.
 */
async function assertReauthenticated(c: Context<AppEnv>, password: string | undefined): Promise<string> {
  const platform = c.get('platform');
  const principal = c.get('principal');
  if (principal.kind !== 'session') throw new ApiError('forbidden', 'Deleting an organization needs a signed-in owner.');
  if (password !== undefined) {
    await platform.signInLimiter.attempt({ address: requestAddress(c), email: principal.email, kind: 'password' });
    const verified = await platform.auth.api
      .verifyPassword({ body: { password }, headers: betterAuthHeaders(c) })
      .then((result) => result.status === true, () => false);
    if (!verified) throw new ApiError('reauthentication_required', 'The password is not correct.');
    return principal.userId;
  }
  const [session] = await platform.authDatabase.db
    .select({ ageSeconds: sql<number>`extract(epoch from now() - ${sessions.createdAt})::int` })
    .from(sessions)
    .where(eq(sessions.id, principal.sessionId));
  if (!session || session.ageSeconds > FRESH_SESSION_SECONDS) {
    throw new ApiError('reauthentication_required', `Give your password, or sign in again: this session is older than ${FRESH_SESSION_SECONDS / 60} minutes.`);
  }
  return principal.userId;
}

const alreadyUnderWay = () => new ApiError('conflict', 'The deletion of this organization is already under way.');

export function registerDeleteOrganization(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const input = c.req.valid('json');
    // People only, whatever the id: an API key learns nothing from its answer.
    requireRole(c, ['owner']);
    // Only the organization the request is bound to; any other id looks missing.
    if (id !== c.var.org.id) throw new ApiError('not_found', 'No such organization.');
    const [org] = await c.var.tx.select({ slug: organizations.slug }).from(organizations).where(eq(organizations.id, id));
    if (!org) throw new ApiError('not_found', 'No such organization.');
    if (input.confirm !== org.slug) throw new ApiError('unprocessable', 'Type the organization’s slug exactly to confirm.');
    const actor = await assertReauthenticated(c, input.password);
    // Two deletions at once must not wait on each other. Each request
    // share-locked the owner's membership on entering the tenant, so the one
    // deleting the members waits for the other to end; had that other waited
    // on it in turn (for the organization row), Postgres would have broken the
    // cycle with a 40P01. So the second does not wait: it is told.
    const [turn] = await c.var.tx.execute<{ ours: boolean }>(sql`select pg_try_advisory_xact_lock(hashtextextended(${`org-deletion:${id}`}, 0)) as ours`);
    if (!turn?.ours) throw alreadyUnderWay();
    const [record] = await c.var.tx.execute<{ id: string }>(sql`select kommit_begin_org_deletion(${actor}) as id`).catch((error: unknown) => {
      // The database's own checks, should the request's have been passed by a change that raced it.
      if (sqlStateOf(error) === '42501') throw new ApiError('forbidden', 'Only an owner can delete the organization.');
      if (sqlStateOf(error) === '55000') throw alreadyUnderWay();
      throw error;
    });
    c.get('platform').logger.info({ orgId: id, deletionId: record!.id, actorId: actor }, 'organization deletion requested');
    return c.json({ id: record!.id, organizationId: id, status: 'deleting' as const }, 202);
  });
}
