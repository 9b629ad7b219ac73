import { createFunctionApp } from '../../middleware/function-app.ts';
import { registerDecisionRoutes } from './decide-step.ts';
import { registerCreateWorkflow } from './routes/create-workflow.ts';
import { registerGetRun } from './routes/get-run.ts';
import { registerGetWorkflow } from './routes/get-workflow.ts';
import { registerGetWorkflowVersion } from './routes/get-workflow-version.ts';
import { registerListRuns } from './routes/list-runs.ts';
import { registerListWorkflows } from './routes/list-workflows.ts';
import { registerStartRun } from './routes/start-run.ts';
import { registerUpdateWorkflow } from './routes/update-workflow.ts';

const app = createFunctionApp('workflows');
registerCreateWorkflow(app);
registerListWorkflows(app);
registerGetWorkflow(app);
registerUpdateWorkflow(app);
registerGetWorkflowVersion(app);
registerStartRun(app);
registerListRuns(app);
registerGetRun(app);
registerDecisionRoutes(app);

export default app;
