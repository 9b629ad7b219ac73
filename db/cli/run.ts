import { parseArgs, type ParseArgsConfig } from 'node:util';
import { signerFromEnv, type CheckpointSigner } from '../audit/checkpoint.ts';
import { assertConnection, checkWorkerConnection } from '../boot-checks.ts';
import { migrateDatabase } from '../migrate.ts';
import { reasonOf } from '../query-errors.ts';
import { resolveDatabase, type DatabaseTarget } from '../runtime.ts';
import { MAX_NAME_LENGTH } from '../operators.ts';
import { createDatabase, isUuid, type Database } from '../tenant.ts';

/**
 * Shared frame for the operator CLIs: they connect as the admin role
 * (beheerder), which is still subject to forced RLS, so tenant writes go through
 * withTenant like everywhere else. The role is checked before anything else
 * (migrations included) runs. Errors end as one line and exit code 1.
 * `signer` is the platform's checkpoint signer (AUDIT_SIGNING_KEY, or the
 * embedded default's key), so the audit rows a CLI appends count towards
 * signed checkpoints as the server's do.
 */
export async function runAsAdmin(fn: (admin: Database, target: DatabaseTarget, signer: CheckpointSigner | undefined) => Promise<void>, who = 'this command') {
  let target: DatabaseTarget | undefined;
  let admin: Database | undefined;
  try {
    target = await resolveDatabase({ log: (line) => process.stderr.write(`${line}\n`), migrate: false });
    if (!target.adminUrl) throw new Error('ADMIN_DATABASE_URL is not set');
    admin = createDatabase(target.adminUrl, { max: 2, ca: target.ca, applicationName: 'kommit-cli' });
    await assertConnection(checkWorkerConnection(admin.sql, target.roles, who));
    if (process.env.NODE_ENV !== 'production') await migrateDatabase(target.adminUrl, target.ca);
    const key = process.env.AUDIT_SIGNING_KEY ?? target.auditSigningKey;
    await fn(admin, target, key ? signerFromEnv(key) : undefined);
  } catch (error) {
    process.stderr.write(`error: ${reasonOf(error)}\n`);
    process.exitCode = 1;
  } finally {
    await admin?.close();
    await target?.stop();
  }
}

/**
 * parseArgs for a CLI, where a mistake (an unknown option, an option without
 * its value, an argument where none is taken) ends as one `error:` line and
 * the usage, exit code 2, like an argument left out. `--help` or `-h` (before
 * a `--`) prints the usage to stdout and exits 0, whatever else is given.
 */
export function cliArgs<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>> {
  const args = config.args ?? process.argv.slice(2);
  const end = args.indexOf('--');
  if ((end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (error) {
    // Node's message goes on to explain "--" for values that start with a dash; the first sentence says what is wrong.
    const message = (error as Error).message.split(/\.\s/)[0]!.replace(/\.$/, '');
    process.stderr.write(`error: ${message}\n${usage}\n`);
    process.exit(2);
  }
}

/** What is wrong in one `error:` line, the usage line and exit code 2, for arguments that parse but do not fit. */
export function usageError(usage: string, reason: string): never {
  process.stderr.write(`error: ${reason}\n${usage}\n`);
  process.exit(2);
}

/**
 * A --name, as the API takes one: trimmed, and then 1 to MAX_NAME_LENGTH
 * characters; a blank or longer one is an argument mistake.
 */
export function nameArg(value: string, usage: string): string;
export function nameArg(value: string | undefined, usage: string): string | undefined;
export function nameArg(value: string | undefined, usage: string): string | undefined {
  if (value === undefined) return undefined;
  const name = value.trim();
  if (!name) usageError(usage, '--name is blank');
  if (name.length > MAX_NAME_LENGTH) usageError(usage, `--name has at most ${MAX_NAME_LENGTH} characters, not ${name.length}`);
  return name;
}

/** The organization --org names: its uuid, as orgs:create prints it. */
export function orgArg(value: string | undefined, usage: string): string {
  if (value === undefined) usageError(usage, '--org is required');
  // What `--org "$ORG"` gives when the orgs:create before it failed.
  if (value === '') usageError(usage, '--org is empty');
  if (!isUuid(value)) usageError(usage, `--org takes an organization uuid, not "${value}"`);
  return value;
}

