-- The request role only reads organization rows: renames go through Better
-- Auth's own role, and the deletion mark is set by kommit_begin_org_deletion
-- (running as its owner). Without UPDATE, a request can never clear an
-- organization's deletion mark or change its slug behind Better Auth's back.
REVOKE UPDATE ON organizations FROM kommit_rw;
