import { createFunctionApp } from '../../middleware/function-app.ts';
import { handleBetterAuth } from './better-auth.ts';
import { registerGetSession } from './routes/get-session.ts';
import { registerSetActiveOrganization } from './routes/set-active-organization.ts';

/**
 * Identity: Better Auth's endpoints under /api/auth/* (sign-up, sign-in,
 * sign-out, organizations, members, invitations) and the session routes.
 * None of these run in a tenant context: they decide which tenant a session is in.
 */
const app = createFunctionApp('identity');
app.on(['GET', 'POST'], '/api/auth/*', app.named, handleBetterAuth);
registerGetSession(app);
registerSetActiveOrganization(app);

export default app;
