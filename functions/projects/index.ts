import { createFunctionApp } from '../../middleware/function-app.ts';
import { registerCreateProject } from './routes/create-project.ts';
import { registerDeleteProject } from './routes/delete-project.ts';
import { registerGetProject } from './routes/get-project.ts';
import { registerListProjects } from './routes/list-projects.ts';
import { registerUpdateProject } from './routes/update-project.ts';

const app = createFunctionApp('projects');
registerCreateProject(app);
registerListProjects(app);
registerGetProject(app);
registerUpdateProject(app);
registerDeleteProject(app);

export default app;
