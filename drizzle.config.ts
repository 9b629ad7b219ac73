import { defineConfig } from 'drizzle-kit';

// Generate only (`npm run db:generate`): `push` would drop the hand-written RLS
// policies and FORCE settings that live in custom migrations.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema/index.ts',
  out: './migrations',
});
