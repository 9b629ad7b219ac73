import type { Context } from 'hono';
import type { AppEnv } from '../../middleware/env.ts';
import { ApiError, PROBLEMS, problemOf } from '../../middleware/errors.ts';
import { createFunctionApp } from '../../middleware/function-app.ts';
import { Layout } from './layout.tsx';
import { signIn, signInPage, signOut, signUp, signUpPage } from './pages/auth-pages.tsx';
import { auditPage } from './pages/audit.tsx';
import { collectFromConsole, controlsPage } from './pages/controls.tsx';
import { acceptInvitation, invitationPage } from './pages/invitation.tsx';
import { changeRole, inviteMember, membersPage, removeMember } from './pages/members.tsx';
import { createOrganization, organizationsPage, switchOrganization } from './pages/organizations.tsx';
import { createProject, projectsPage } from './pages/projects.tsx';
import { createWebhookEndpoint, rotateWebhookEndpointSecret, webhooksPage } from './pages/webhooks.tsx';
import { back, consoleHeaders, consoleMessages, peopleOnly, sameOriginForms } from './support.ts';

/**
 * The web console: server-rendered pages, no front-end build. Pages that show
 * tenant data run through the same tenant chain as the API (live membership
 * check, tenant transaction); the rest works outside any tenant.
 */
const app = createFunctionApp('console');
const page = [app.named, consoleHeaders(), consoleMessages(), sameOriginForms()] as const;
const tenantPage = [consoleHeaders(), consoleMessages(), sameOriginForms(), peopleOnly(), ...app.tenantChain] as const;

app.get('/console', ...page, organizationsPage);
app.get('/console/sign-in', ...page, signInPage);
app.post('/console/sign-in', ...page, signIn);
app.get('/console/sign-up', ...page, signUpPage);
app.post('/console/sign-up', ...page, signUp);
app.post('/console/sign-out', ...page, signOut);
app.post('/console/organizations', ...page, createOrganization);
app.post('/console/switch', ...page, switchOrganization);
app.get('/console/invitations/:id', ...page, invitationPage);
app.post('/console/invitations/:id', ...page, acceptInvitation);

app.get('/console/projects', ...tenantPage, projectsPage);
app.post('/console/projects', ...tenantPage, createProject);
app.get('/console/members', ...tenantPage, membersPage);
app.get('/console/audit', ...tenantPage, auditPage);
app.get('/console/webhooks', ...tenantPage, webhooksPage);
app.get('/console/controls', ...tenantPage, controlsPage);
app.post('/console/controls/:id/collect', ...tenantPage, collectFromConsole);
app.post('/console/webhooks', ...tenantPage, createWebhookEndpoint);
app.post('/console/webhooks/:id/rotate', ...tenantPage, rotateWebhookEndpointSecret);
// Outside the tenant transaction: see activeOrganization in pages/members.tsx.
app.post('/console/members/invite', ...page, inviteMember);
app.post('/console/members/remove', ...page, removeMember);
app.post('/console/members/role', ...page, changeRole);

// Pages answer errors as pages: sign in again, pick an organization, or read
// why, with the status the API gives the same error (problemOf).
app.onError((error: Error, c: Context<AppEnv>) => {
  const problem = problemOf(error) ?? new ApiError('internal');
  if (problem.code === 'unauthorized') return back(c, '/console/sign-in');
  if (problem.code === 'forbidden') return back(c, '/console', { error: problem.message });
  const { status, title } = PROBLEMS[problem.code];
  const unexpected = problem.code === 'internal';
  // A fault of ours is told by reference only; every other reason is safe to show (the API shows it too).
  if (status >= 500) c.get('platform').logger.error({ reqId: c.get('requestId'), err: error }, 'console error');
  return c.html(
    <Layout title={unexpected ? 'Something went wrong' : title} error={unexpected ? `The request could not be completed (reference ${c.get('requestId')}).` : problem.message}>
      <p><a href="/console">Back to the console</a></p>
    </Layout>,
    status,
    problem.options.headers,
  );
});

export default app;
