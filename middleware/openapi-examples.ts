type Schema = {
  $ref?: string;
  type?: string | string[];
  format?: string;
  example?: unknown;
  examples?: unknown[];
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  additionalProperties?: Schema | boolean;
  minimum?: number;
};
type Media = { schema?: Schema; example?: unknown };
type Operation = { requestBody?: { content?: Record<string, Media> }; responses?: Record<string, { content?: Record<string, Media> }> };
export type OpenApiDocument = { paths?: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, Schema> } };

const SAMPLE_ID = '6f1c2b7e-9d4a-4b8e-a1c6-5e2f7d9b0a13';

/** Plain strings by what the field is called, for fields without an example of their own. */
function sampleString(name: string | undefined) {
  if (!name) return 'text';
  if (/At$/.test(name)) return '2026-11-26T08:00:00.123456Z';
  if (/cursor$/i.test(name)) return 'WyIyMDI2LTExLTI2VDA4OjAwOjAwLjEyMzQ1NloiLCI2ZjFjMmI3ZS05ZDRhLTRiOGUtYTFjNi01ZTJmN2Q5YjBhMTMiXQ';
  if (/url$/i.test(name)) return 'https://help.example.com/articles/residency';
  if (/^(title|name)$/.test(name)) return 'Quarterly access review';
  if (/(content|rationale|outcome|detail|snippet|message|note|description)$/i.test(name)) return 'Access was reviewed and two stale API keys were revoked.';
  if (/type$/i.test(name)) return 'user';
  if (/(id|ref)$/i.test(name)) return SAMPLE_ID;
  return 'text';
}

/**
 * An example value for a schema: the schema's own example where it has one,
 * otherwise one assembled from its parts' examples, enums, defaults and
 * formats. Routes declare examples on the fields that carry meaning; this
 * puts them together for every request and response.
 */
export function sampleOf(schema: Schema | undefined, schemas: Record<string, Schema>, depth = 0, name?: string): unknown {
  if (!schema || depth > 8) return null;
  if (schema.$ref) return sampleOf(schemas[schema.$ref.split('/').pop()!], schemas, depth + 1, name);
  if (schema.example !== undefined) return schema.example;
  if (schema.examples?.length) return schema.examples[0];
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return sampleOf(variants.find((v) => v.type !== 'null') ?? variants[0], schemas, depth + 1, name);
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((part) => sampleOf(part, schemas, depth + 1) as object));
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, property]) => [key, sampleOf(property, schemas, depth + 1, key)]));
    case 'array':
      return schema.items ? [sampleOf(schema.items, schemas, depth + 1, name)] : [];
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'string':
      if (schema.format === 'uuid') return SAMPLE_ID;
      if (schema.format === 'date-time') return '2026-11-26T08:00:00.000Z';
      if (schema.format === 'email') return 'ada@example.com';
      if (schema.format === 'uri') return 'https://kommit.example/docs';
      return sampleString(name);
    default:
      return null;
  }
}

/** Gives every JSON request body and 2xx JSON response of the document an example. */
export function withExamples<T extends OpenApiDocument>(document: T): T {
  const schemas = document.components?.schemas ?? {};
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item)) {
      const media = [
        operation.requestBody?.content?.['application/json'],
        ...Object.entries(operation.responses ?? {})
          .filter(([status]) => status.startsWith('2'))
          .map(([, response]) => response.content?.['application/json']),
      ];
      for (const m of media) if (m && m.example === undefined && m.schema) m.example = sampleOf(m.schema, schemas);
    }
  }
  return document;
}
