/**
 * Membership roles, lowest first. Better Auth stores a member's roles as one
 * comma-joined string ("admin,member"); every comparison of a role in the
 * application goes through effectiveRole, so no check ever sees the raw list.
 */
export const MEMBER_ROLES = ['member', 'admin', 'owner'] as const;

export type MemberRole = (typeof MEMBER_ROLES)[number];

/** Whether a role value is exactly one known role (not a list, not an unknown name), as Better Auth is about to store it, say. */
export const isMemberRole = (name: string): name is MemberRole => (MEMBER_ROLES as readonly string[]).includes(name);

/** The names in a stored role string, as Better Auth splits them (comma list, trimmed, empty entries dropped). */
function roleNames(stored: string): string[] {
  return stored
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}

/**
 * The role a stored role string grants: the highest known role it names, or
 * null when it names none (an unknown role grants nothing: fail closed).
 */
export function effectiveRole(stored: string | null | undefined): MemberRole | null {
  if (!stored) return null;
  let best: MemberRole | null = null;
  for (const name of roleNames(stored)) {
    if (isMemberRole(name) && (!best || rank(name) > rank(best))) best = name;
  }
  return best;
}

/** 1 for member up to 3 for owner; 0 for anything else. */
function rank(role: MemberRole | null) {
  return role ? MEMBER_ROLES.indexOf(role) + 1 : 0;
}

/**
 * Whether a stored role string grants at least `required`. An unknown or
 * missing held role is below every role, and an unknown required role is
 * never met, so a bad value on either side refuses.
 */
export function hasRoleAtLeast(held: string | null | undefined, required: string): boolean {
  if (!isMemberRole(required)) return false;
  return rank(effectiveRole(held)) >= rank(required);
}
