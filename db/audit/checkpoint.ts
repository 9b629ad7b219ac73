import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { wholeNumberSetting } from '../settings.ts';

/**
 * Signed checkpoints in the C2SP signed-note format: a body of
 *   <origin>\n<seq>\n<base64 head hash>\n<extension lines>
 * followed by a blank line and signature lines "— <key name> <base64(key id || signature)>".
 * Ed25519 keys; the key id is the first 4 bytes of SHA-256(name || "\n" || 0x01 || public key).
 */
const ED25519 = 0x01;

export interface CheckpointSigner {
  keyName: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Sign at least every N appends... */
  everyAppends: number;
  /** ...or when the last checkpoint is older than this. */
  everyMinutes: number;
}

export function rawPublicKey(publicKey: KeyObject) {
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url');
}

function keyId(keyName: string, publicKey: Buffer) {
  return createHash('sha256').update(Buffer.concat([Buffer.from(`${keyName}\n`), Buffer.from([ED25519]), publicKey])).digest().subarray(0, 4);
}

/** The verifier key a customer keeps: name+hex key id+base64(0x01 || public key). */
export function verifierKey(signer: Pick<CheckpointSigner, 'keyName' | 'publicKey'>) {
  const raw = rawPublicKey(signer.publicKey);
  return `${signer.keyName}+${keyId(signer.keyName, raw).toString('hex')}+${Buffer.concat([Buffer.from([ED25519]), raw]).toString('base64')}`;
}

export function checkpointOrigin(orgId: string) {
  return `kommit/audit/${orgId}`;
}

export function signCheckpoint(signer: CheckpointSigner, input: { orgId: string; seq: number; headHash: Buffer; time: string }) {
  const body = `${checkpointOrigin(input.orgId)}\n${input.seq}\n${input.headHash.toString('base64')}\ntime ${input.time}\n`;
  const signature = sign(null, Buffer.from(body), signer.privateKey);
  const raw = rawPublicKey(signer.publicKey);
  return `${body}\n— ${signer.keyName} ${Buffer.concat([keyId(signer.keyName, raw), signature]).toString('base64')}\n`;
}

export interface VerifiedCheckpoint {
  orgId: string;
  seq: number;
  /** Head hash in hex. */
  hash: string;
  time: string | null;
}

/** Checks a signed note against a verifier key; throws with the reason when it does not verify. */
export function verifyCheckpoint(note: string, verifier: string): VerifiedCheckpoint {
  // The key itself is base64 and may contain '+': only the first two separate fields.
  const [name, idHex, ...rest] = verifier.trim().split('+');
  const keyB64 = rest.join('+');
  const keyBytes = Buffer.from(keyB64 ?? '', 'base64');
  if (!name || !idHex || keyBytes.length !== 33 || keyBytes[0] !== ED25519) throw new Error('the public key is not an Ed25519 verifier key (name+id+key)');
  const raw = keyBytes.subarray(1);
  if (keyId(name, raw).toString('hex') !== idHex) throw new Error('the public key does not match its own key id');
  const split = note.indexOf('\n\n');
  if (split < 0) throw new Error('the checkpoint has no signature block');
  const body = note.slice(0, split + 1);
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  // Each signature line names its key and starts with its key id: one by
  // this key must verify; lines by other keys say who signed instead.
  let ours = false;
  const others: string[] = [];
  for (const line of note.slice(split + 2).split('\n')) {
    const signature = /^— (\S+) (\S+)$/.exec(line.trimEnd());
    if (!signature) continue;
    const bytes = Buffer.from(signature[2]!, 'base64');
    const id = bytes.subarray(0, 4).toString('hex');
    if (signature[1] !== name || id !== idHex) {
      others.push(`${signature[1]}+${id}`);
      continue;
    }
    ours = true;
    if (verify(null, Buffer.from(body), publicKey, bytes.subarray(4))) return parseBody(body);
  }
  if (ours) throw new Error(`the checkpoint carries no valid signature by ${name}+${idHex}: the signature does not match the note (changed after signing, or forged)`);
  throw new SignedWithAnotherKey(others, `${name}+${idHex}`);
}

/**
 * A checkpoint with no signature by the key it was checked with: signed with
 * other keys only (the key the deployment used before rotating, or a
 * forger's), or not at all. Whether that fails anything is the caller's to say.
 */
export class SignedWithAnotherKey extends Error {
  constructor(
    readonly keys: string[],
    verifier: string,
  ) {
    super(keys.length ? `the checkpoint is signed with another key (${keys.join(', ')}), not with ${verifier}` : 'the checkpoint carries no signature');
  }
}

function parseBody(body: string): VerifiedCheckpoint {
  const [origin, seq, hash, ...extensions] = body.split('\n');
  if (!origin?.startsWith('kommit/audit/') || !/^\d+$/.test(seq ?? '') || !hash) throw new Error('the checkpoint body is not a Kommit audit checkpoint');
  const time = extensions.find((line) => line.startsWith('time '))?.slice(5) ?? null;
  return { orgId: origin.slice('kommit/audit/'.length), seq: Number(seq), hash: Buffer.from(hash, 'base64').toString('hex'), time };
}

/**
 * Why a checkpoint as stored (its columns and its note) cannot be trusted under
 * this signer's key, or null when its note verifies and says what the columns
 * say. The columns alone prove nothing: whoever can rewrite the chain can
 * rewrite them too, but cannot sign.
 */
export function storedCheckpointProblem(stored: { seq: number; hash: string; note: string }, signer: Pick<CheckpointSigner, 'keyName' | 'publicKey'>, origin: string): string | null {
  try {
    const signed = verifyCheckpoint(stored.note, verifierKey(signer));
    if (signed.orgId !== origin || signed.seq !== stored.seq || signed.hash !== stored.hash) return 'the stored checkpoint does not say what its note signs';
    return null;
  } catch (error) {
    return `the checkpoint at seq ${stored.seq} does not verify: ${(error as Error).message}`;
  }
}

/** The signer from configuration: an Ed25519 private key in PEM (PKCS#8). */
export function signerFromPem(pem: string, options: { keyName: string; everyAppends: number; everyMinutes: number }): CheckpointSigner {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    // OpenSSL's own words ("DECODER routines::unsupported") name neither the setting nor the fix.
    throw new Error('AUDIT_SIGNING_KEY is not a private key in PEM (an Ed25519 key, PKCS#8: -----BEGIN PRIVATE KEY-----)');
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('AUDIT_SIGNING_KEY must be an Ed25519 private key (PEM)');
  return { ...options, privateKey, publicKey: createPublicKey(privateKey) };
}

/** The AUDIT_* cadence (and key name) a process signs checkpoints at; a malformed number throws, naming its variable. */
export function checkpointCadenceFromEnv(env: NodeJS.ProcessEnv = process.env) {
  return {
    keyName: env.AUDIT_KEY_NAME ?? 'kommit-audit',
    everyAppends: wholeNumberSetting(env, 'AUDIT_CHECKPOINT_EVERY', 100, { min: 1 }),
    everyMinutes: wholeNumberSetting(env, 'AUDIT_CHECKPOINT_MINUTES', 10, { min: 1 }),
  };
}

/** The signer a process configures from its env: the key (AUDIT_SIGNING_KEY, or what the embedded default generated) and the AUDIT_* cadence. */
export function signerFromEnv(pem: string, env: NodeJS.ProcessEnv = process.env): CheckpointSigner {
  return signerFromPem(pem, checkpointCadenceFromEnv(env));
}
