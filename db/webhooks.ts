import { randomBytes, randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { webhookEndpoints, type webhookTargets } from './schema/webhooks.ts';
import type { SecretBox } from './secret-box.ts';
import type { Tx } from './tenant.ts';

/** A Standard Webhooks secret: `whsec_` and 24 random bytes in base64. */
export function newSigningSecret() {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export interface NewEndpoint {
  name: string;
  projectId: string;
  target: (typeof webhookTargets)[number];
  workflowId?: string | null;
  enabled?: boolean;
}

/** Inserts an endpoint with a fresh secret, sealed and bound to the endpoint's id; returns the row and the secret. */
export async function insertWebhookEndpoint(tx: Tx, box: SecretBox, orgId: string, input: NewEndpoint) {
  const id = randomUUID();
  const secret = newSigningSecret();
  const [row] = await tx
    .insert(webhookEndpoints)
    .values({
      orgId,
      id,
      name: input.name,
      projectId: input.projectId,
      target: input.target,
      workflowId: input.workflowId ?? null,
      enabled: input.enabled ?? true,
      sealedSecret: box.seal(secret, id),
    })
    .returning();
  return { row: row!, secret };
}

/**
 * Gives the endpoint a new secret; the current one keeps verifying for
 * `overlapMinutes` (none when 0). Returns null for an endpoint this tenant
 * does not have.
 */
export async function rotateWebhookSecret(tx: Tx, box: SecretBox, id: string, overlapMinutes: number) {
  const [current] = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).for('update');
  if (!current) return null;
  const secret = newSigningSecret();
  const [row] = await tx
    .update(webhookEndpoints)
    .set({
      sealedSecret: box.seal(secret, id),
      sealedPreviousSecret: overlapMinutes > 0 ? current.sealedSecret : null,
      previousSecretExpiresAt: overlapMinutes > 0 ? sql`now() + make_interval(mins => ${overlapMinutes})` : null,
      updatedAt: sql`now()`,
    })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  return { row: row!, secret };
}
