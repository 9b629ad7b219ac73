import { createFunctionApp } from '../../middleware/function-app.ts';
import { registerArticlePage } from './routes/article-page.ts';
import { registerAskQuestion } from './routes/ask-question.ts';
import { registerServeScript } from './routes/serve-script.ts';
import { registerStartConversation } from './routes/start-conversation.ts';

/**
 * The chat widget's public side: the script customers embed and the API it
 * talks to. No session, no API key: a public widget key resolves to one
 * organization (kommit_enter_widget), a signed visitor token carries the
 * conversation, and everything reads and writes inside that organization's
 * tenant context.
 */
const app = createFunctionApp('widget-api');

// Preflights carry no widget key and no token, so they cannot be checked
// against a configuration: they say which methods and headers exist, and each
// real request is checked against its widget's allowed origins.
app.options('/widget/v1/*', app.named, (c) => {
  const origin = c.req.header('origin');
  return c.body(null, 204, {
    ...(origin ? { 'access-control-allow-origin': origin } : {}),
    'access-control-allow-methods': 'GET, POST',
    'access-control-allow-headers': 'authorization, content-type',
    'access-control-max-age': '600',
    vary: 'Origin',
  });
});
registerServeScript(app);
registerStartConversation(app);
registerAskQuestion(app);
registerArticlePage(app);

export default app;
