#!/usr/bin/env node
// `npx kommit-audit verify <export>`: the offline verifier (db/audit/cli.ts).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
