import { createFunctionApp } from '../../middleware/function-app.ts';
import { registerCreateEndpoint } from './routes/create-endpoint.ts';
import { registerManageEndpoints } from './routes/manage-endpoints.ts';
import { registerRotateSecret } from './routes/rotate-secret.ts';

const app = createFunctionApp('webhooks');
registerCreateEndpoint(app);
registerManageEndpoints(app);
registerRotateSecret(app);

export default app;
