import { createFunctionApp } from '../../middleware/function-app.ts';
import { registerReceive } from './receive.ts';

/** The public ingress for customer systems' webhooks: no session, no API key, a signature per delivery. */
const app = createFunctionApp('hooks');
registerReceive(app);

export default app;
