import { createFunctionApp } from '../../middleware/function-app.ts';
import { registerDeleteOrganization } from './routes/delete-organization.ts';

const app = createFunctionApp('organizations');
registerDeleteOrganization(app);

export default app;
