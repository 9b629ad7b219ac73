import { randomUUID } from 'node:crypto';
import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { APIError, createAuthMiddleware, getSessionFromCtx } from 'better-auth/api';
import { organization } from 'better-auth/plugins';
import { and, asc, eq, inArray, lte, sql } from 'drizzle-orm';
import { MEMBER_ROLES, effectiveRole, hasRoleAtLeast, isMemberRole } from '../db/member-roles.ts';
import { MAX_NAME_LENGTH, MAX_SLUG_LENGTH } from '../db/operators.ts';
import { accounts, invitations, members, sessions, users, verifications } from '../db/schema/auth.ts';
import { organizations } from '../db/schema/organizations.ts';
import { isUuid, setTenantContext, type Db, type Tx } from '../db/tenant.ts';
import { identityTransactions } from './transactions.ts';

export interface AuthOptions {
  /** Drizzle over the auth role's pool (kommit_auth), never kommit_app's. */
  db: Db;
  /** How many of its endpoints' transactions may hold a connection at once (see auth/transactions.ts). */
  transactionSlots?: number;
  /** Public origin of this deployment, e.g. https://app.kommit.eu; cookies and origin checks follow it. */
  baseURL: string;
  secret: string;
  production: boolean;
  /** Header the platform fills with the client address it determined (middleware/addresses.ts). */
  clientIpHeader: string;
  /**
   * Records a governed action Better Auth carried out (membership, roles,
   * switching) in the organization's audit chain, in `tx`: the transaction
   * that also holds the change, its tenant context set to the organization.
   */
  onGovernedAction?: (event: GovernedAction, tx: Tx) => Promise<void>;
  /** Told of each such action once its transaction has committed (a rolled-back one never happened). */
  onGovernedActionCommitted?: (event: GovernedAction) => void;
}

export interface GovernedAction {
  orgId: string;
  actorUserId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  data: Record<string, unknown>;
  ip: string | null;
}

type Returned = Record<string, any> | null | undefined;

/**
 * Better Auth endpoints that change who may act in an organization, and how
 * each becomes an audit entry. `returned` is the endpoint's result, `body` its input.
 */
const GOVERNED: Record<string, (returned: Returned, body: Record<string, any>) => Omit<GovernedAction, 'actorUserId' | 'ip'> | null> = {
  '/organization/create': (r) => r?.id ? { orgId: r.id, action: 'organization.create', targetType: 'organization', targetId: r.id, data: { name: r.name, slug: r.slug } } : null,
  '/organization/invite-member': (r) =>
    r?.organizationId ? { orgId: r.organizationId, action: 'invitation.create', targetType: 'invitation', targetId: r.id, data: { email: r.email, role: r.role } } : null,
  '/organization/cancel-invitation': (r) =>
    r?.organizationId ? { orgId: r.organizationId, action: 'invitation.cancel', targetType: 'invitation', targetId: r.id, data: { email: r.email } } : null,
  '/organization/accept-invitation': (r) =>
    r?.member ? { orgId: r.member.organizationId, action: 'member.add', targetType: 'member', targetId: r.member.id, data: { userId: r.member.userId, role: r.member.role, invitationId: r.invitation?.id } } : null,
  '/organization/remove-member': (r) =>
    r?.member ? { orgId: r.member.organizationId, action: 'member.remove', targetType: 'member', targetId: r.member.id, data: { userId: r.member.userId, role: r.member.role } } : null,
  '/organization/update-member-role': (r) =>
    r?.organizationId ? { orgId: r.organizationId, action: 'member.role_change', targetType: 'member', targetId: r.id, data: { userId: r.userId, role: r.role } } : null,
  '/organization/leave': (r, body) =>
    body.organizationId && r ? { orgId: body.organizationId, action: 'member.leave', targetType: 'member', targetId: r.id ?? null, data: { userId: r.userId ?? null } } : null,
  '/organization/update': (r) =>
    r?.id ? { orgId: r.id, action: 'organization.update', targetType: 'organization', targetId: r.id, data: { name: r.name, slug: r.slug } } : null,
  '/organization/reject-invitation': (r) =>
    r?.invitation ? { orgId: r.invitation.organizationId, action: 'invitation.reject', targetType: 'invitation', targetId: r.invitation.id, data: { email: r.invitation.email } } : null,
  // '/organization/delete' removes the organization's chain with it (hard delete).
  '/organization/set-active': (r) =>
    r?.id ? { orgId: r.id, action: 'session.switch_organization', targetType: 'organization', targetId: r.id, data: {} } : null,
};

/**
 * Endpoints (paths below /api/auth) that each run as one transaction with
 * the audit rows they cause: the governed ones, and deleting one's account,
 * which removes its memberships.
 */
const TRANSACTIONAL_PATHS = new Set([...Object.keys(GOVERNED), '/delete-user', '/delete-user/callback']);
const BASE_PATH = '/api/auth';

/**
 * Better Auth: identity (users, sessions, accounts) and organizations, members
 * and invitations through its organization plugin. What it decides about the
 * session is a claim; every request re-checks membership live (middleware/).
 */
export function createAuth(options: AuthOptions) {
  const transactions = identityTransactions(options.db, { slots: options.transactionSlots });
  // Everything below, Better Auth and our hooks alike, goes through this one.
  const { db } = transactions;
  const governed = async (event: GovernedAction) => {
    if (!options.onGovernedAction) return;
    const tx = transactions.current();
    // Every transactional path runs in one (see withTransactions below); a
    // change found outside would have committed without its audit row.
    if (!tx) throw new Error(`${event.action} was carried out outside a transaction: its audit row cannot commit with it`);
    // The audit tables' row-level security applies to this role too.
    await setTenantContext(tx, event.orgId);
    await options.onGovernedAction(event, tx);
    const { onGovernedActionCommitted: committed } = options;
    if (committed) transactions.afterCommit(() => committed(event));
  };
  const auth = betterAuth({
    appName: 'Kommit',
    baseURL: options.baseURL,
    basePath: BASE_PATH,
    secret: options.secret,
    telemetry: { enabled: false },
    database: drizzleAdapter(db, {
      provider: 'pg',
      schema: {
        user: users,
        session: sessions,
        account: accounts,
        verification: verifications,
        organization: organizations,
        member: members,
        invitation: invitations,
      },
    }),
    emailAndPassword: { enabled: true, minPasswordLength: 10, maxPasswordLength: 128, autoSignIn: true },
    session: {
      // Never trust a signed cookie copy of the session: every request reads the row.
      cookieCache: { enabled: false },
    },
    user: {
      deleteUser: {
        enabled: true,
        // Better Auth would leave an organization without an owner; refuse instead.
        beforeDelete: async (user) => {
          // Operator rights end by a recorded revoke, never as a side effect.
          const [operator] = await db.execute<{ yes: boolean }>(sql`select kommit_is_platform_operator(${user.id}) as yes`);
          if (operator?.yes) {
            throw new APIError('BAD_REQUEST', { message: 'This account holds platform operator rights: they are revoked first (npm run admin:grant -- <email> --revoke).' });
          }
          const sole = await soleOwnerships(db, user.id);
          if (sole.length) {
            throw new APIError('BAD_REQUEST', {
              message: `You are the only owner of ${sole.join(', ')}: transfer ownership or delete the organization first.`,
            });
          }
          // The whole deletion is one transaction (TRANSACTIONAL_PATHS): the
          // memberships, their audit rows, then Better Auth's removal of the
          // sessions, the password and the user (which takes the invitations
          // the user sent with it: the pending ones are recorded as canceled).
          // The database's owner check (members_keep_an_owner) refuses it all
          // if another owner stepped down since the check above. One
          // organization at a time in id order, as that check and the audit
          // chains lock them, so two such deletions wait for each other
          // instead of deadlocking.
          const mine = await db.select({ id: members.id }).from(members).where(eq(members.userId, user.id)).orderBy(asc(members.organizationId));
          const events: Omit<GovernedAction, 'actorUserId' | 'ip'>[] = [];
          for (const { id } of mine) {
            for (const m of await db.delete(members).where(eq(members.id, id)).returning()) {
              events.push({ orgId: m.organizationId, action: 'member.remove', targetType: 'member', targetId: m.id, data: { userId: user.id, role: m.role, reason: 'user deleted their account' } });
            }
          }
          const sent = await db
            .select({ id: invitations.id, orgId: invitations.organizationId, email: invitations.email })
            .from(invitations)
            .where(and(eq(invitations.inviterId, user.id), eq(invitations.status, 'pending')));
          for (const i of sent) {
            events.push({ orgId: i.orgId, action: 'invitation.cancel', targetType: 'invitation', targetId: i.id, data: { email: i.email, reason: 'its sender deleted their account' } });
          }
          // The sessions after the memberships and before any chain head, in
          // the order the others take them: an organization's deletion takes
          // its members, then clears their sessions; a switch of organization
          // updates its session, then appends to that organization's chain.
          // Better Auth only deletes the sessions at the end, after the appends.
          await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, user.id)).orderBy(asc(sessions.id)).for('update');
          events.sort((a, b) => (a.orgId < b.orgId ? -1 : a.orgId > b.orgId ? 1 : 0));
          for (const event of events) await governed({ ...event, actorUserId: user.id, ip: null });
        },
      },
    },
    // Sign-ups and every endpoint that checks a password are limited per
    // account and per address by the platform (middleware/sign-in-limit.ts,
    // PASSWORD_CHECKS in functions/identity/better-auth.ts), in front of this handler.
    rateLimit: { enabled: false },
    advanced: {
      // Explicit, so tests run with the checks production has: Better Auth
      // turns both off by default when it sees a test environment (TEST=true,
      // which vitest sets).
      disableOriginCheck: false,
      disableCSRFCheck: false,
      database: { generateId: 'uuid', joins: true },
      useSecureCookies: options.production,
      defaultCookieAttributes: { httpOnly: true, sameSite: 'lax', secure: options.production, path: '/' },
      ipAddress: { ipAddressHeaders: [options.clientIpHeader] },
    },
    hooks: {
      before: createAuthMiddleware(async (ctx) => {
        // Checked before anything is written: a transactional endpoint reached
        // some other way (an alias, a path form not matched) would otherwise
        // commit its change and only then fail to record it.
        if (TRANSACTIONAL_PATHS.has(ctx.path) && !transactions.current()) {
          throw new Error(`${ctx.path} was reached outside a transaction: its changes could not commit with their audit rows`);
        }
        const field = MEMBER_NAMED_BY[ctx.path];
        if (field) return hideOtherOrganizationsMember(db, ctx, field);
      }),
      after: createAuthMiddleware(async (ctx) => {
        const describe = GOVERNED[ctx.path];
        const returned = ctx.context.returned;
        if (!describe || returned instanceof Error) return;
        const event = describe(returned as Returned, (ctx.body ?? {}) as Record<string, any>);
        if (!event) return;
        const actor = ctx.context.session?.user.id ?? null;
        const ip = ctx.headers?.get(options.clientIpHeader) ?? null;
        await governed({ ...event, actorUserId: actor, ip });
      }),
    },
    // An error that is not Better Auth's own (Postgres refusing a value, the
    // database gone) leaves its handler instead of becoming a bare 500, so the
    // platform's onError answers it as it answers any route's (400, 503, or a
    // logged 500 with the request id). Better Auth's own errors still answer as before.
    onAPIError: { throw: true },
    // Would let any signed-in user probe other organizations' slugs.
    disabledPaths: ['/organization/check-slug'],
    plugins: [
      organization({
        creatorRole: 'owner',
        // Deleting goes through DELETE /v1/organizations/{id}: confirmation,
        // re-authentication, and the batched hard delete.
        disableOrganizationDeletion: true,
        invitationExpiresIn: 7 * 24 * 3600,
        // No mail service is wired in: invitees see pending invitations for their
        // email address in the console (and through list-user-invitations).
        sendInvitationEmail: async () => {},
        // Better Auth accepts a list of roles and stores it comma-joined; a
        // member here holds exactly one role, so every check sees one value.
        organizationHooks: {
          beforeCreateInvitation: async ({ invitation }) => {
            refuseRoleList(invitation.role);
            for (const retired of await retireExpiredInvitations(db, invitation)) {
              await governed({
                orgId: retired.organizationId,
                actorUserId: invitation.inviterId,
                action: 'invitation.cancel',
                targetType: 'invitation',
                targetId: retired.id,
                data: { email: retired.email, reason: 'expired; replaced by a new invitation' },
                ip: null,
              });
            }
          },
          beforeAcceptInvitation: async ({ invitation, user }) => refuseStaleInvitation(db, invitation, user.id),
          beforeCreateOrganization: async ({ organization }) => organizationFields(organization),
          beforeUpdateOrganization: async ({ organization, member }) => {
            const fields = organizationFields(organization);
            // A new slug changes a key column, so the update locks the
            // organization's row FOR UPDATE until the audit row is appended;
            // every other append takes the chain head first and then waits,
            // in its foreign-key check, for that row: a deadlock. Taking the
            // head first here keeps one order.
            if (organization.slug !== undefined) await lockChainHead(db, member.organizationId);
            return fields;
          },
          beforeAddMember: async ({ member }) => refuseRoleList(member.role),
          beforeUpdateMemberRole: async ({ newRole }) => refuseRoleList(newRole),
        },
      }),
    ],
  });
  return withTransactions(auth, transactions.together);
}

export type Auth = ReturnType<typeof createAuth>;

/**
 * Better Auth whose transactional endpoints each run in `together`, however
 * they are reached: through the handler (an error response rolls back) or
 * as `auth.api.<endpoint>` from our own pages (an error thrown rolls back).
 */
function withTransactions<A extends { handler: (request: Request) => Promise<Response>; api: Record<string, unknown> }>(
  auth: A,
  together: ReturnType<typeof identityTransactions>['together'],
): A {
  const api = Object.fromEntries(
    Object.entries(auth.api).map(([name, endpoint]) => {
      const path = (endpoint as { path?: string }).path;
      if (typeof endpoint !== 'function' || !path || !TRANSACTIONAL_PATHS.has(path)) return [name, endpoint];
      const call = endpoint as (...args: unknown[]) => Promise<unknown>;
      return [name, Object.assign((...args: unknown[]) => together(() => call(...args)), endpoint)];
    }),
  );
  const handler = (request: Request) => {
    const path = new URL(request.url).pathname.slice(BASE_PATH.length);
    if (!TRANSACTIONAL_PATHS.has(path)) return auth.handler(request);
    return together(() => auth.handler(request), (response) => response.status >= 400);
  };
  // fetch is Better Auth's other name for its handler.
  return { ...auth, api, handler, fetch: handler };
}

/**
 * An organization's name and slug as every other path takes them (the
 * console, the CLI): the name trimmed, 1 to MAX_NAME_LENGTH characters, and
 * the slug at most MAX_SLUG_LENGTH. Better Auth checks neither.
 */
function organizationFields<T extends { name?: string; slug?: string }>(organization: T) {
  if (organization.slug !== undefined && organization.slug.length > MAX_SLUG_LENGTH) {
    throw new APIError('BAD_REQUEST', { message: `A slug has at most ${MAX_SLUG_LENGTH} characters.` });
  }
  if (organization.name === undefined) return undefined;
  const name = organization.name.trim();
  if (!name || name.length > MAX_NAME_LENGTH) {
    throw new APIError('BAD_REQUEST', { message: `An organization's name has 1 to ${MAX_NAME_LENGTH} characters, not counting spaces around it.` });
  }
  return { data: { ...organization, name } };
}

/** Endpoints that name a member by id, and the body field they name it in. */
const MEMBER_NAMED_BY: Record<string, string> = {
  '/organization/remove-member': 'memberIdOrEmail',
  '/organization/update-member-role': 'memberId',
};

/**
 * Better Auth looks a member up by id in every organization and only later
 * compares the organization, answering differently on the way (an owner
 * elsewhere: "only owner"; any member elsewhere: "not allowed"), so anyone
 * holding a member id could learn that it exists in some organization, and
 * its role. An id that does not name a member of the organization acted on
 * (or is not a canonical uuid: Postgres also reads other spellings, which
 * the console passes on as given) is swapped for a fresh one that names
 * nobody. Better Auth then takes, in its own order, the very path an unknown
 * id takes; this hook itself never answers, so it tells nothing either.
 */
async function hideOtherOrganizationsMember(db: Db, ctx: Parameters<Parameters<typeof createAuthMiddleware>[0]>[0], field: string) {
  const body = (ctx.body ?? {}) as Record<string, unknown>;
  const named = body[field];
  // By email Better Auth looks only within the organization.
  if (typeof named !== 'string' || (field === 'memberIdOrEmail' && named.includes('@'))) return;
  if (isUuid(named)) {
    const [member] = await db.select({ orgId: members.organizationId }).from(members).where(eq(members.id, named));
    if (!member) return;
    // As Better Auth picks it: the body's organization, else the session's active one.
    const acting = (typeof body.organizationId === 'string' && body.organizationId) || (await getSessionFromCtx(ctx))?.session.activeOrganizationId;
    if (member.orgId === acting) return;
  }
  return { context: { body: { ...body, [field]: randomUUID() } } };
}

/** Locks the organization's audit chain head, as an append does, until the transaction ends. */
async function lockChainHead(db: Db, orgId: string) {
  await setTenantContext(db, orgId);
  await db.execute(sql`select 1 from audit_chain_heads where org_id = ${orgId} for update`);
}

function refuseRoleList(role: string) {
  if (!isMemberRole(role)) {
    throw new APIError('BAD_REQUEST', { message: `A member holds exactly one role: ${MEMBER_ROLES.join(', ')}; not "${role}".` });
  }
}

/**
 * Better Auth leaves an expired invitation pending and no longer sees it, so
 * inviting that address again would trip the one-pending-invitation index
 * (migration 0038) with a 409 nobody could act on. An expired one is
 * canceled when a new one is sent to its address.
 */
async function retireExpiredInvitations(db: Db, invitation: { organizationId: string; email: string }) {
  return db
    .update(invitations)
    .set({ status: 'canceled' })
    .where(
      and(
        eq(invitations.organizationId, invitation.organizationId),
        sql`lower(${invitations.email}) = lower(${invitation.email})`,
        eq(invitations.status, 'pending'),
        lte(invitations.expiresAt, sql`now()`),
      ),
    )
    .returning({ id: invitations.id, organizationId: invitations.organizationId, email: invitations.email });
}

/**
 * An invitation speaks for whoever sent it, as they are now, not as they were
 * when they sent it. Better Auth checks neither: an admin removed (or demoted)
 * after inviting a second address of their own could still let that address
 * in, as admin. Also refused: accepting into an organization one already
 * belongs to (the membership's unique constraint would fail it later).
 * The inviter's membership is share-locked until the acceptance commits (it
 * is one transaction, TRANSACTIONAL_PATHS), so they cannot be removed or
 * demoted between this check and the new member's row.
 */
async function refuseStaleInvitation(db: Db, invitation: { id: string; organizationId: string; inviterId: string; role: string }, userId: string) {
  const [inviter, already, organization] = await Promise.all([
    db
      .select({ role: members.role })
      .from(members)
      .where(and(eq(members.organizationId, invitation.organizationId), eq(members.userId, invitation.inviterId)))
      .for('share'),
    db.select({ id: members.id }).from(members).where(and(eq(members.organizationId, invitation.organizationId), eq(members.userId, userId))),
    db.select({ deletionRequestedAt: organizations.deletionRequestedAt }).from(organizations).where(eq(organizations.id, invitation.organizationId)),
  ]);
  // Better Auth read the invitation without a lock, so of two acceptances at
  // once the second only finds out at its conditional update, and answers
  // "Invitation not found" about an invitation that exists. Locked and read
  // again here, the second waits for the first and says what happened. After
  // the sender's membership, in the order their account's deletion takes
  // both (the membership, then the invitations, which go with the user).
  const [current] = await db.select({ status: invitations.status }).from(invitations).where(eq(invitations.id, invitation.id)).for('update');
  if (!current) throw new APIError('CONFLICT', { message: 'This invitation no longer exists (its sender’s account was deleted); ask an owner or admin for a new one.' });
  if (current.status !== 'pending') throw new APIError('CONFLICT', { message: `This invitation has already been ${current.status}.` });
  if (already.length) throw new APIError('BAD_REQUEST', { message: 'You are already a member of this organization.' });
  // The database refuses the membership too (migration 0038), but Better Auth
  // then writes to the failed transaction to undo its own steps, and that
  // error would hide this one behind a 500.
  if (organization[0]?.deletionRequestedAt) throw new APIError('CONFLICT', { message: 'This organization is being deleted; it takes no new members.' });
  const sender = effectiveRole(inviter[0]?.role);
  if (!sender || sender === 'member' || !hasRoleAtLeast(sender, invitation.role)) {
    throw new APIError('FORBIDDEN', {
      message: `Whoever sent this invitation can no longer invite to the role ${invitation.role} in this organization; ask an owner or admin for a new one.`,
    });
  }
}

/** Names of the organizations where this user is the only owner. */
export async function soleOwnerships(db: Db, userId: string) {
  // Roles are compared as effectiveRole reads them, in code rather than SQL:
  // a stored list such as "owner,member" makes an owner too.
  const mine = await db.select({ orgId: members.organizationId, role: members.role }).from(members).where(eq(members.userId, userId));
  const owned = mine.filter((m) => effectiveRole(m.role) === 'owner').map((m) => m.orgId);
  if (owned.length === 0) return [];
  const everyone = await db
    .select({ orgId: members.organizationId, name: organizations.name, role: members.role })
    .from(members)
    .innerJoin(organizations, eq(organizations.id, members.organizationId))
    .where(inArray(members.organizationId, owned));
  const owners = new Map<string, { name: string; count: number }>();
  for (const m of everyone) {
    if (effectiveRole(m.role) !== 'owner') continue;
    const entry = owners.get(m.orgId) ?? { name: m.name, count: 0 };
    entry.count += 1;
    owners.set(m.orgId, entry);
  }
  return [...owners.values()].filter((o) => o.count === 1).map((o) => o.name);
}
