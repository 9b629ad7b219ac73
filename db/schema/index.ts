export * from './organizations.ts';
export * from './projects.ts';
export * from './api-keys.ts';
export * from './auth.ts';
export * from './audit.ts';
export * from './decisions.ts';
export * from './transcripts.ts';
export * from './workflows.ts';
