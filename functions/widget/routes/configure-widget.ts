import { createRoute, z } from '@hono/zod-openapi';
import { widgetConfigs } from '../../../db/schema/helpdesk.ts';
import { lockOrCreateWidget, newIdentitySecret, newWidgetKey, updateWidget } from '../../../db/widget.ts';
import { audit } from '../../../middleware/audit.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, SESSION_ONLY } from '../../../middleware/openapi.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { toWidget, widgetFields, widgetSchema } from '../schemas.ts';

export const getRoute = createRoute({
  method: 'get',
  path: '/v1/widget',
  tags: ['widget'],
  summary: "The organization's chat widget: key, allowed origins, look, and the tag to embed",
  responses: { 200: jsonResponse(widgetSchema, 'The widget (configured: false before it was first saved).'), ...commonErrors },
});

export const putBody = z
  .object({
    allowedOrigins: widgetFields.allowedOrigins.optional(),
    greeting: widgetFields.greeting.optional(),
    accentColor: widgetFields.accentColor.optional(),
    textColor: widgetFields.textColor.optional(),
    contact: widgetFields.contact.optional(),
    enabled: widgetFields.enabled.optional(),
    rotateKey: z.boolean().optional().openapi({ description: 'Issue a new public key; pages still carrying the old one stop working.' }),
  })
  .openapi('ConfigureWidget', { example: { allowedOrigins: ['https://shop.example.com'], greeting: 'Hi! How can we help?', contact: 'support@example.com', enabled: true } });

export const putRoute = createRoute({
  method: 'put',
  path: '/v1/widget',
  security: SESSION_ONLY,
  tags: ['widget'],
  summary: 'Create or change the chat widget (owners and admins)',
  request: { body: jsonBody(putBody) },
  responses: { 200: jsonResponse(widgetSchema, 'The widget as saved.'), ...commonErrors },
});

export const secretRoute = createRoute({
  method: 'post',
  path: '/v1/widget/identity-secret',
  security: SESSION_ONLY,
  tags: ['widget'],
  summary: 'Set a new identity-verification secret (shown once); the previous one stops verifying',
  description:
    'Your server signs a signed-in visitor\'s id with it: hex HMAC-SHA256(secret, visitorId), passed to the widget as data-visitor-id and data-visitor-signature. ' +
    'Conversations of such visitors are stored as verified.',
  responses: {
    200: jsonResponse(widgetSchema.extend({ identitySecret: z.string().openapi({ example: 'wsec_…' }) }).openapi('WidgetWithIdentitySecret'), 'The widget and its new secret.'),
    ...commonErrors,
  },
});

export function registerConfigureWidget(app: FunctionApp) {
  app.openapi(getRoute, async (c) => {
    const [row] = await c.var.tx.select().from(widgetConfigs);
    return c.json(toWidget(row ?? null, c.get('platform').config.baseURL), 200);
  });

  app.openapi(putRoute, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const { rotateKey, ...changes } = c.req.valid('json');
    const baseURL = c.get('platform').config.baseURL;
    const { widget, created } = await lockOrCreateWidget(c.var.tx, c.var.org.id, changes);
    const before = created ? null : widget;
    const row = before ? await updateWidget(c.var.tx, before.id, { ...changes, ...(rotateKey ? { publicKey: newWidgetKey() } : {}) }) : widget;
    await audit(c, {
      action: 'widget.update',
      targetType: 'widget',
      targetId: row.id,
      data: { before: before ? toWidget(before, baseURL) : null, after: toWidget(row, baseURL), changes: Object.keys(changes), rotatedKey: Boolean(rotateKey && before) },
    });
    return c.json(toWidget(row, baseURL), 200);
  });

  app.openapi(secretRoute, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const { secretBox, config } = c.get('platform');
    const { widget } = await lockOrCreateWidget(c.var.tx, c.var.org.id);
    const secret = newIdentitySecret();
    const row = await updateWidget(c.var.tx, widget.id, { sealedIdentitySecret: secretBox.seal(secret, widget.id) });
    // The audit row records that it changed, never the secret.
    await audit(c, { action: 'widget.identity_secret_rotate', targetType: 'widget', targetId: row.id });
    return c.json({ ...toWidget(row, config.baseURL), identitySecret: secret }, 200);
  });
}
