import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');

/**
 * Modules the Node server uses that have a workerd counterpart, swapped in at
 * bundle time (like a package's "browser" field). Both sides export the same
 * names; what differs is how they reach the outside world.
 */
export const EDGE_SUBSTITUTES: Record<string, string> = {
  // node:tls options and CA files -> cloudflare:sockets with the runtime's TLS.
  [path.join(ROOT, 'db/connection.ts')]: path.join(ROOT, 'edge/connection.ts'),
  // Swagger UI's files read from node_modules -> no /docs at the edge.
  [path.join(ROOT, 'middleware/docs.ts')]: path.join(ROOT, 'edge/docs.ts'),
  // Per-process Prometheus counters (prom-client needs Node) -> nothing recorded, no /metrics.
  [path.join(ROOT, 'middleware/metrics.ts')]: path.join(ROOT, 'edge/metrics.ts'),
};

/** Packages swapped the same way, by import specifier. */
export const EDGE_PACKAGE_SUBSTITUTES: Record<string, string> = {
  // Its index requires node:cluster for a limiter we never use.
  'rate-limiter-flexible': path.join(ROOT, 'edge/rate-limiter.ts'),
};

/**
 * Node built-in modules that workerd (with nodejs_compat) implements for real.
 * Anything else a bundle imports (node:fs, node:net, node:tls, node:os,
 * node:child_process...) is Node-only: absent, a stub, or an in-memory
 * imitation in workerd, so code calling it would fail or misbehave per request.
 */
export const EDGE_NODE_MODULES = new Set([
  'assert',
  'async_hooks',
  'buffer',
  'crypto',
  'diagnostics_channel',
  'events',
  'path',
  'process',
  'stream',
  'string_decoder',
  'timers',
  'url',
  'util',
  'zlib',
]);

const NODE_BUILTINS = new Set(builtinModules.map((name) => name.replace(/^node:/, '')));

/** 'node:fs/promises' -> 'fs', 'crypto' -> 'crypto'; undefined when not a Node built-in. */
export function nodeBuiltin(specifier: string) {
  const bare = specifier.replace(/^node:/, '');
  const root = bare.split('/')[0]!;
  return NODE_BUILTINS.has(bare) || NODE_BUILTINS.has(root) ? root : undefined;
}

const substitutes: Plugin = {
  name: 'kommit-edge-substitutes',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) => {
      // The substitute itself imports the package's own files.
      if (args.importer === EDGE_PACKAGE_SUBSTITUTES[args.path]) return undefined;
      return EDGE_PACKAGE_SUBSTITUTES[args.path] ? { path: EDGE_PACKAGE_SUBSTITUTES[args.path] } : undefined;
    });
    pluginBuild.onResolve({ filter: /\.tsx?$/ }, (args) => {
      if (!args.path.startsWith('.')) return undefined;
      const resolved = path.resolve(args.resolveDir, args.path);
      return EDGE_SUBSTITUTES[resolved] ? { path: EDGE_SUBSTITUTES[resolved] } : undefined;
    });
  },
};

export interface EdgeBundle {
  functionName: string;
  code: string;
  metafile: Metafile;
  /** Every Node built-in the bundle imports, with the files importing it. */
  nodeImports: Map<string, string[]>;
}

/**
 * Bundles one function module into a single ES module for workerd: the
 * function's own folder, the shared middleware/db/auth it imports, and
 * edge/worker.ts around it. Node built-ins stay imports (nodejs_compat
 * provides them); package entry points are chosen with workerd's conditions,
 * so postgres.js comes in as its cloudflare:sockets build.
 */
export async function bundleEdgeFunction(functionName: string, options: { outfile?: string } = {}): Promise<EdgeBundle> {
  const entry = `import fn from './functions/${functionName}/index${indexExtension(functionName)}';
import { createEdgeWorker } from './edge/worker.ts';
export default createEdgeWorker(fn);
`;
  return { functionName, ...(await bundleEdgeEntry(entry, `edge-${functionName}.ts`, options)) };
}

/** Bundles an entry module's source (resolved from the repository root) the way workers are bundled. */
export async function bundleEdgeEntry(source: string, name: string, options: { outfile?: string } = {}) {
  const result = await build({
    stdin: { contents: source, resolveDir: ROOT, sourcefile: name, loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2024',
    conditions: ['workerd', 'worker', 'browser', 'import'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*', 'node:*', ...NODE_BUILTINS],
    jsx: 'automatic',
    jsxImportSource: 'hono/jsx',
    plugins: [substitutes],
    metafile: true,
    legalComments: 'none',
    logLevel: 'silent',
    ...(options.outfile ? { outfile: options.outfile, write: true } : { write: false }),
  });
  const code = options.outfile ? '' : result.outputFiles![0]!.text;
  const nodeImports = new Map<string, string[]>();
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    for (const imported of input.imports) {
      const builtin = imported.external ? nodeBuiltin(imported.path) : undefined;
      if (!builtin) continue;
      nodeImports.set(builtin, [...(nodeImports.get(builtin) ?? []), file]);
    }
  }
  return { code, metafile: result.metafile, nodeImports };
}

/** The Node-only modules a bundle imports, each with the files importing it. */
export function nodeOnlyImports(bundle: Pick<EdgeBundle, 'nodeImports'>) {
  return [...bundle.nodeImports].filter(([name]) => !EDGE_NODE_MODULES.has(name)).map(([name, files]) => ({ module: `node:${name}`, importedBy: files }));
}

function indexExtension(functionName: string) {
  return existsSync(path.join(ROOT, 'functions', functionName, 'index.tsx')) ? '.tsx' : '.ts';
}
