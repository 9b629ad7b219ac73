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
 * A rotation with an overlap asked for while the last rotation's overlap still
 * runs: the endpoint keeps one previous secret, so it would cut off at once
 * whichever of the two old secrets the sender still signs with.
 */
export class RotationOverlapRunning extends Error {
  constructor(readonly previousSecretExpiresAt: string) {
    super(`the previous secret keeps verifying until ${previousSecretExpiresAt}`);
  }
}

/**
 * Gives the endpoint a new secret; the current one keeps verifying for
 * `overlapMinutes` (none when 0). Returns null for an endpoint this tenant
 * does not have. Throws RotationOverlapRunning for an overlap asked for while
 * the previous secret still verifies; without overlap (0) the rotation goes
 * through and cuts off every earlier secret at once, as asked.
 */
export async function rotateWebhookSecret(tx: Tx, box: SecretBox, id: string, overlapMinutes: number) {
  const [current] = await tx
    .select({ sealedSecret: webhookEndpoints.sealedSecret, overlapUntil: sql<string | null>`case when ${webhookEndpoints.previousSecretExpiresAt} > now() and ${webhookEndpoints.sealedPreviousSecret} is not null then ${webhookEndpoints.previousSecretExpiresAt} end` })
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.id, id))
    .for('update');
  if (!current) return null;
  if (overlapMinutes > 0 && current.overlapUntil) throw new RotationOverlapRunning(current.overlapUntil);
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
