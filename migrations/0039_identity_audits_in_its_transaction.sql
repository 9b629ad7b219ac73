-- Better Auth's changes (membership, roles, invitations, switching) and their
-- audit rows commit in one transaction on its connection (auth/transactions.ts),
-- so its group appends to the chain as the request role does, and no more:
-- read and move the head, add rows and checkpoints. Row-level security on
-- these tables applies to every role and keys on app.current_org_id, which the
-- append sets for the organization it writes to (middleware/platform.ts).
GRANT SELECT, UPDATE ON audit_chain_heads TO kommit_identity;
--> statement-breakpoint
GRANT INSERT ON audit_log, audit_checkpoints TO kommit_identity;
--> statement-breakpoint
-- The append reads back the seq it wrote (RETURNING), nothing else of the log.
GRANT SELECT (seq) ON audit_log TO kommit_identity;
--> statement-breakpoint
-- A checkpoint is written ON CONFLICT (org_id, seq) DO NOTHING, which reads its arbiter's columns.
GRANT SELECT (org_id, seq) ON audit_checkpoints TO kommit_identity;
