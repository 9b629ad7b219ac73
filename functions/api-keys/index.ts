import { createFunctionApp } from '../../middleware/function-app.ts';
import { registerCreateApiKey } from './routes/create-api-key.ts';
import { registerListApiKeys } from './routes/list-api-keys.ts';
import { registerRevokeApiKey } from './routes/revoke-api-key.ts';

const app = createFunctionApp('api-keys');
registerCreateApiKey(app);
registerListApiKeys(app);
registerRevokeApiKey(app);

export default app;
