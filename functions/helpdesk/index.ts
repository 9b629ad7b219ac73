import { createFunctionApp } from '../../middleware/function-app.ts';
import { registerCreateArticle } from './routes/create-article.ts';
import { registerManageArticles } from './routes/manage-articles.ts';

/** The organization's helpdesk: Markdown articles the chat widget answers from once published. */
const app = createFunctionApp('helpdesk');
registerCreateArticle(app);
registerManageArticles(app);

export default app;
