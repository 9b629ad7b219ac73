import { createFunctionApp } from '../../middleware/function-app.ts';
import { registerConfigureWidget } from './routes/configure-widget.ts';

/** The organization's chat widget settings (the public side is widget-api). */
const app = createFunctionApp('widget');
registerConfigureWidget(app);

export default app;
