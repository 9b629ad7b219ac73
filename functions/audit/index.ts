import { createFunctionApp } from '../../middleware/function-app.ts';
import { registerCheckpointRoutes } from './routes/list-checkpoints.ts';
import { registerExportAuditLog } from './routes/export-audit-log.ts';
import { registerListAuditLog } from './routes/list-audit-log.ts';
import { registerVerifyAuditLog } from './routes/verify-audit-log.ts';

const app = createFunctionApp('audit');
registerVerifyAuditLog(app);
registerExportAuditLog(app);
registerCheckpointRoutes(app);
registerListAuditLog(app);

export default app;
