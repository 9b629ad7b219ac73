import { describe, expect, it } from 'vitest';
import { effectiveRole, hasRoleAtLeast, isMemberRole } from './member-roles.ts';

describe('effectiveRole', () => {
  it('reads a stored role list as its highest known role, and nothing known as null', () => {
    expect(effectiveRole('member')).toBe('member');
    expect(effectiveRole('admin,member')).toBe('admin');
    expect(effectiveRole('member, owner')).toBe('owner');
    expect(effectiveRole('auditor,admin')).toBe('admin');
    for (const stored of ['auditor', 'Owner', '', ',', null, undefined]) expect(effectiveRole(stored), String(stored)).toBeNull();
  });
});

describe('hasRoleAtLeast', () => {
  it('compares effective roles and fails closed on anything unknown', () => {
    expect(hasRoleAtLeast('admin,member', 'admin')).toBe(true);
    expect(hasRoleAtLeast('admin,member', 'owner')).toBe(false);
    expect(hasRoleAtLeast('owner', 'member')).toBe(true);
    expect(hasRoleAtLeast('auditor', 'member')).toBe(false);
    expect(hasRoleAtLeast(null, 'member')).toBe(false);
    expect(hasRoleAtLeast('owner', 'superuser')).toBe(false);
  });
});

describe('isMemberRole', () => {
  it('accepts one known role only', () => {
    expect(isMemberRole('admin')).toBe(true);
    for (const stored of ['admin,member', 'auditor', '', 'admin,']) expect(isMemberRole(stored), stored).toBe(false);
  });
});
