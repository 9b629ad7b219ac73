import type { Hono } from 'hono';
import type { AppEnv } from '../middleware/env.ts';

/**
 * middleware/docs.ts for workerd (the edge build puts this module in its place).
 * The interactive reference reads Swagger UI's files from node_modules on
 * disk, which a worker does not have; Node processes serve /docs, and every
 * worker still serves /openapi.json.
 */
export function mountDocs(_app: Hono<AppEnv>) {}
