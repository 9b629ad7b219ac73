import { createFunctionApp } from '../../middleware/function-app.ts';
import { registerSearch } from './routes/search.ts';

const app = createFunctionApp('search');
registerSearch(app);

export default app;
