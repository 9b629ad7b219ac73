import { createFunctionApp } from '../../middleware/function-app.ts';
import { registerControlRoutes } from './routes/controls.ts';
import { registerEvidencePackRoute } from './routes/evidence-pack.ts';
import { registerFrameworkRoutes } from './routes/frameworks.ts';

/** The control library, tenant controls, evidence collection and evidence packs (issue 12). */
const app = createFunctionApp('controls');
registerFrameworkRoutes(app);
registerControlRoutes(app);
registerEvidencePackRoute(app);

export default app;
