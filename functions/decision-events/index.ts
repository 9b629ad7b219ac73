import { createFunctionApp } from '../../middleware/function-app.ts';
import { registerArchiveDecisionEvent } from './routes/archive-decision-event.ts';
import { registerCreateDecisionEvent } from './routes/create-decision-event.ts';
import { registerGetDecisionEvent } from './routes/get-decision-event.ts';
import { registerListDecisionEvents } from './routes/list-decision-events.ts';

const app = createFunctionApp('decision-events');
registerCreateDecisionEvent(app);
registerListDecisionEvents(app);
registerGetDecisionEvent(app);
registerArchiveDecisionEvent(app);

export default app;
