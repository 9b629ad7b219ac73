/**
 * A URL-safe slug from a name, title or file name: lower-case words joined by
 * single hyphens (accents dropped), at most `maxLength` long, never ending in
 * one; `fallback` when nothing of the text is left.
 */
export function slugify(text: string, maxLength: number, fallback: string) {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/, '');
  return slug || fallback;
}

/** What slugify makes: lower-case words and digits joined by single hyphens. */
export const isSlug = (value: string, maxLength: number) => value.length <= maxLength && /^[a-z0-9]+(-[a-z0-9]+)*$/.test(value);
