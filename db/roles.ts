/**
 * The database roles and what each may do (DESIGN.md section 1.1).
 *
 * - app (kommit_app): serves requests. LOGIN, nothing else: no superuser, no
 *   BYPASSRLS, no CREATEDB/CREATEROLE, owns nothing; its DML grants come from
 *   membership in the NOLOGIN group kommit_rw, the one role it may belong to.
 * - admin (beheerder): owns the schema; runs migrations, workers and the admin
 *   console. Not BYPASSRLS: FORCE ROW LEVEL SECURITY holds for it too, so a worker
 *   that forgets withTenant also sees nothing.
 * - auth (kommit_auth): Better Auth's own connection. LOGIN, restricted like
 *   the app role, member only of the NOLOGIN group kommit_identity, which holds
 *   the grants on identity tables and the auth-only policies (auth/README.md).
 * - kommit_resolver: NOLOGIN, BYPASSRLS, owner of the SECURITY DEFINER functions
 *   that resolve a credential to its organization. beheerder is a member only so
 *   migrations can hand those functions to it; it could therefore SET ROLE to
 *   it. That gives beheerder nothing it lacks (it owns the tables and may alter
 *   their policies): FORCE ROW LEVEL SECURITY on beheerder guards against a
 *   worker's mistake (a query without withTenant), not against beheerder's intent.
 */
export const GRANT_GROUP_ROLE = 'kommit_rw';
export const IDENTITY_GROUP_ROLE = 'kommit_identity';
export const RESOLVER_ROLE = 'kommit_resolver';

export interface RoleNames {
  app: string;
  admin: string;
  auth: string;
}

export const DEFAULT_ROLES: RoleNames = { app: 'kommit_app', admin: 'beheerder', auth: 'kommit_auth' };

export function roleNamesFromEnv(env: NodeJS.ProcessEnv = process.env): RoleNames {
  return {
    app: env.KOMMIT_APP_ROLE || DEFAULT_ROLES.app,
    admin: env.KOMMIT_ADMIN_ROLE || DEFAULT_ROLES.admin,
    auth: env.KOMMIT_AUTH_ROLE || DEFAULT_ROLES.auth,
  };
}
