import { services } from '../dokploy/functions.ts';
import { bundleEdgeFunction, nodeOnlyImports } from './build.ts';

// npm run build:edge: dist/edge/<function>.mjs for every function, the files wrangler.toml names.
let failed = false;
for (const service of services.filter((s) => s.kind === 'function')) {
  const outfile = `dist/edge/${service.name}.mjs`;
  const bundle = await bundleEdgeFunction(service.name, { outfile });
  const nodeOnly = nodeOnlyImports(bundle);
  if (nodeOnly.length) {
    failed = true;
    process.stderr.write(`${service.name}: imports Node-only ${nodeOnly.map((n) => `${n.module} (from ${n.importedBy.join(', ')})`).join('; ')}\n`);
  } else process.stdout.write(`wrote ${outfile}\n`);
}
process.exitCode = failed ? 1 : 0;
