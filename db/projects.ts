import { sql, type SQL } from 'drizzle-orm';
import { ApiError } from '../middleware/errors.ts';
import type { Tx } from './tenant.ts';

/** The project a write goes under: named directly, or as the project of a workflow. */
export type ProjectOfWrite = { projectId: string } | { workflowId: string };

/**
 * Holds the project a write goes under until the transaction ends, and refuses
 * the write while the project is archived: an archived project takes no new
 * work (workflows, versions, runs, step decisions, decision events) until it
 * is made active again (`archivedToo` lets through a write that only winds
 * work down: archiving a workflow). Call it first, before anything under the
 * project is locked or written. Row-level security makes another organization's project
 * (or workflow) look missing: 404, as a missing one.
 *
 * The lock is FOR SHARE, not the FOR KEY SHARE a write under a parent needs
 * against the parent's deletion. Archiving is an UPDATE of `status`, a non-key
 * column, and the row lock such an UPDATE takes (FOR NO KEY UPDATE) does not
 * conflict with FOR KEY SHARE: a write racing an archive would read the row as
 * it was before the archive (still active) without waiting, and commit its
 * work after the archive did. FOR SHARE conflicts with every update of the
 * row, so the check and the archive serialize: a write that comes second waits
 * for the archive's commit and then reads the row as archived (READ COMMITTED
 * re-reads a locked row's newest version), and an archive that comes second
 * waits for the write to commit. Writes in the same project still run side by
 * side (share locks do not conflict with each other).
 *
 * The lock order is the one writes under a project always took: the project
 * first, then what is under it, the order a deletion of the project takes
 * (FOR UPDATE on the project, then its cascade); the project's own update
 * takes the project and then the audit chain head, as a write does. The other
 * way round (a run locked first, the project reached later by an insert's
 * foreign key check) a write would deadlock with a deletion, or find its
 * parent deleted meanwhile.
 */
export async function holdProjectForWork(tx: Tx, of: ProjectOfWrite, options: { archivedToo?: boolean } = {}): Promise<void> {
  const id: SQL = 'projectId' in of ? sql`${of.projectId}` : sql`(select project_id from workflows where id = ${of.workflowId})`;
  const [project] = await tx.execute<{ id: string; status: string }>(sql`select id, status from projects where id = ${id} for share`);
  if (!project) throw new ApiError('not_found', 'projectId' in of ? 'No project with this id.' : 'No workflow with this id.');
  if (project.status === 'archived' && !options.archivedToo) {
    throw new ApiError('project_archived', `Project ${project.id} is archived and takes no new work; unarchive it first (PATCH /v1/projects/${project.id} with status "active").`);
  }
}
