import { z } from '@hono/zod-openapi';
import type { WidgetRow } from '../../db/widget.ts';
import { ORIGIN_PATTERN } from '../../middleware/origins.ts';

const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour as #rrggbb');

export const widgetFields = {
  allowedOrigins: z
    .array(
      z
        .string()
        .trim()
        .toLowerCase()
        .max(300)
        .regex(ORIGIN_PATTERN, 'an origin such as https://shop.example.com, or https://*.example.com for its subdomains'),
    )
    .max(50)
    .openapi({ example: ['https://shop.example.com', 'https://*.example.com'] }),
  greeting: z.string().trim().min(1).max(500).openapi({ example: 'Hi! Ask me anything about your account.' }),
  accentColor: color.openapi({ example: '#2f6feb' }),
  textColor: color.openapi({ example: '#ffffff' }),
  contact: z.string().trim().min(1).max(300).nullable().openapi({ description: 'Where visitors reach a person when the articles do not cover a question (an e-mail address or a URL).', example: 'support@example.com' }),
  enabled: z.boolean().openapi({ example: true }),
};

export const widgetSchema = z
  .object({
    configured: z.boolean().openapi({ description: 'False until the widget is first saved; the other fields are then the defaults.' }),
    publicKey: z.string().nullable().openapi({ description: 'The public widget key (pk_...) the embed script carries.', example: 'pk_Qm9vZ2llV29vZ2llQm9vZ2llV29v' }),
    allowedOrigins: z.array(z.string()),
    greeting: z.string(),
    accentColor: z.string(),
    textColor: z.string(),
    contact: z.string().nullable(),
    enabled: z.boolean(),
    identityVerification: z.boolean().openapi({ description: 'Whether an identity-verification secret is set.' }),
    embed: z.string().nullable().openapi({ description: 'The <script> tag to put on your pages.' }),
    createdAt: z.string().nullable(),
    updatedAt: z.string().nullable(),
  })
  .openapi('Widget');

export const DEFAULT_WIDGET = { allowedOrigins: [] as string[], greeting: 'Hi! Ask me anything about our product.', accentColor: '#2f6feb', textColor: '#ffffff', contact: null, enabled: true };

export function toWidget(row: WidgetRow | null, baseURL: string) {
  if (!row) return { configured: false, publicKey: null, ...DEFAULT_WIDGET, identityVerification: false, embed: null, createdAt: null, updatedAt: null };
  return {
    configured: true,
    publicKey: row.publicKey,
    allowedOrigins: row.allowedOrigins,
    greeting: row.greeting,
    accentColor: row.accentColor,
    textColor: row.textColor,
    contact: row.contact,
    enabled: row.enabled,
    identityVerification: row.sealedIdentitySecret !== null,
    embed: `<script src="${baseURL}/widget.js" data-key="${row.publicKey}" async></script>`,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
