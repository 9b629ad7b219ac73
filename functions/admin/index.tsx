import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { secureHeaders } from 'hono/secure-headers';
import { NoSuchOrganization, OrganizationBeingDeleted } from '../../db/admin/console.ts';
import { assertConnection, checkWorkerConnection } from '../../db/boot-checks.ts';
import type { RoleNames } from '../../db/roles.ts';
import type { AppEnv } from '../../middleware/env.ts';
import { PROBLEMS, problemOf } from '../../middleware/errors.ts';
import { pageMessages } from '../../middleware/page-messages.ts';
import { requestId } from '../../middleware/request-id.ts';
import { tlsOnly } from '../../middleware/tls-only.ts';
import type { AdminEnv, AdminPlatform } from './env.ts';
import { AdminLayout } from './layout.tsx';
import { auditPage, deletionsPage, jobsPage, retryJobNow, retryWebhook, webhookFailuresPage } from './pages/operations.tsx';
import { organizationPage, organizationsPage, readContent, verifyOrganization } from './pages/organizations.tsx';
import { confirmSetup, setupPage, signIn, signInPage, signOut, startSetup, twoFactorPage, verifyBackupCode, verifyCode } from './pages/sign-in.tsx';
import { adminFlash, Refused, requireOperator, sameOriginForms } from './support.ts';

export const ADMIN_FUNCTION = 'admin';

/**
 * The admin console for platform operators. Never part of a public process:
 * it is built by its own entry (admin.ts) on the admin role's connection, and
 * refuses to exist on any other (createAdminApp checks the role first).
 */
export async function createAdminApp(admin: AdminPlatform, roles: RoleNames) {
  // A beheerder connection that is TLS, not superuser, not BYPASSRLS: the worker's rule, said for this console.
  await assertConnection(checkWorkerConnection(admin.database.sql, roles, 'the admin console'));

  const app = new Hono<AdminEnv>();
  app.use(requestId());
  app.use(async function bindAdmin(c, next) {
    c.set('admin', admin);
    await next();
  });
  app.use(
    secureHeaders({
      strictTransportSecurity: admin.config.production ? 'max-age=63072000; includeSubDomains' : false,
      xFrameOptions: 'DENY',
      referrerPolicy: 'same-origin',
    }),
  );
  app.use(pageMessages<AdminEnv>(() => adminFlash(admin.config.production)));
  app.use(async function adminHeaders(c, next) {
    await next();
    c.res.headers.set('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    c.res.headers.set('cache-control', 'no-store');
  });
  app.use(async function requestLog(c, next) {
    const started = performance.now();
    await next();
    admin.logger.info({ reqId: c.get('requestId'), fn: ADMIN_FUNCTION, method: c.req.method, path: c.req.path, status: c.res.status, durationMs: Math.round(performance.now() - started) });
  });
  // The TLS rule of the public chain; it reads only the socket and headers.
  const tls = tlsOnly({ production: admin.config.production, trustedProxies: admin.config.trustedProxies, exempt: ['/health'] });
  app.use((c, next) => tls(c as unknown as Context<AppEnv>, next));
  app.use(bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.text('Form too large.', 413) }));

  app.get('/health', async (c) => {
    const ok = await admin.database.sql`select 1`.then(() => true, () => false);
    return c.json({ status: ok ? 'ok' : 'unavailable', functions: [ADMIN_FUNCTION] }, ok ? 200 : 503);
  });

  const sameOrigin = sameOriginForms();
  const operator = requireOperator();
  app.get('/admin/sign-in', sameOrigin, signInPage);
  app.post('/admin/sign-in', sameOrigin, signIn);
  app.get('/admin/two-factor', sameOrigin, twoFactorPage);
  app.post('/admin/two-factor', sameOrigin, verifyCode);
  app.post('/admin/two-factor/backup', sameOrigin, verifyBackupCode);
  app.get('/admin/two-factor/setup', sameOrigin, setupPage);
  app.post('/admin/two-factor/setup', sameOrigin, startSetup);
  app.post('/admin/two-factor/confirm', sameOrigin, confirmSetup);
  app.post('/admin/sign-out', sameOrigin, signOut);

  app.get('/admin', sameOrigin, operator, organizationsPage);
  app.get('/admin/organizations/:id', sameOrigin, operator, organizationPage);
  app.post('/admin/organizations/:id/verify', sameOrigin, operator, verifyOrganization);
  app.post('/admin/organizations/:id/read', sameOrigin, operator, readContent);
  app.get('/admin/audit', sameOrigin, operator, auditPage);
  app.get('/admin/deletions', sameOrigin, operator, deletionsPage);
  app.get('/admin/jobs', sameOrigin, operator, jobsPage);
  app.post('/admin/jobs/:id/retry', sameOrigin, operator, retryJobNow);
  app.get('/admin/webhooks', sameOrigin, operator, webhookFailuresPage);
  app.post('/admin/webhooks/:orgId/:id/retry', sameOrigin, operator, retryWebhook);
  app.get('/', (c) => c.redirect('/admin'));

  app.notFound((c) =>
    c.html(
      <AdminLayout title="Not found">
        <p><a href="/admin">Back to the admin console</a></p>
      </AdminLayout>,
      404,
    ),
  );
  // Errors are pages with a reason or a reference, never a stack trace.
  app.onError((error, c) => {
    if (error instanceof NoSuchOrganization) error = new Refused(error.message, 404);
    if (error instanceof OrganizationBeingDeleted) error = new Refused(error.message, 410);
    if (error instanceof Refused) {
      const titles = { 401: 'Not allowed', 403: 'Not allowed', 404: 'Not found', 410: 'Being deleted' };
      return c.html(
        <AdminLayout title={titles[error.status]} error={error.message}>
          {error.status === 410 ? (
            <p><a href="/admin">Back to the admin console</a></p>
          ) : (
            <form method="post" action="/admin/sign-out"><button type="submit">Sign in as someone else</button></form>
          )}
        </AdminLayout>,
        error.status,
      );
    }
    // Bad input (a NUL in a form, say) or a database that cannot serve: the
    // status and reason the API gives the same error.
    const problem = problemOf(error);
    if (problem) {
      if (problem.code === 'unavailable') admin.logger.warn({ reqId: c.get('requestId'), err: error }, 'admin console: database unavailable');
      return c.html(
        <AdminLayout title={PROBLEMS[problem.code].title} error={problem.message}>
          <p><a href="/admin">Back to the admin console</a></p>
        </AdminLayout>,
        PROBLEMS[problem.code].status,
        problem.options.headers,
      );
    }
    admin.logger.error({ reqId: c.get('requestId'), err: error }, 'admin console error');
    return c.html(
      <AdminLayout title="Something went wrong" error={`The request could not be completed (reference ${c.get('requestId')}).`}>
        <p><a href="/admin">Back to the admin console</a></p>
      </AdminLayout>,
      500,
    );
  });
  return app;
}
