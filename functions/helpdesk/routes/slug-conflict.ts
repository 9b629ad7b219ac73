import { ApiError } from '../../../middleware/errors.ts';

/**
 * Runs a write and turns the per-organization slug constraint into a 409.
 * The constraint, not a prior read, decides: two concurrent writers cannot both win.
 */
export async function slugConflict<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const cause = error as { code?: string; constraint_name?: string; cause?: { code?: string; constraint_name?: string } };
    const pg = cause.code ? cause : cause.cause;
    if (pg?.code === '23505' && pg.constraint_name === 'helpdesk_articles_slug_unique') {
      throw new ApiError('conflict', 'Another article of this organization already has this slug.', { errors: [{ path: 'json.slug', message: 'taken' }] });
    }
    throw error;
  }
}
