import { chunkText } from './embedder.ts';

/** A heading's opening: one to six #'s and whitespace. Only this is a regex; see parseHeading. */
const HEADING_OPENING = /^(#{1,6})\s/;

/**
 * An ATX heading line's level and text ("## Backups ##" is level 2, "Backups"),
 * or null. Linear in the line: the closing #'s and spaces are trimmed by hand,
 * because a regex for them (`\s*#*\s*$` after a lazy `.+?`) backtracks
 * cubically on a heading followed by a long run of spaces, blocking the worker.
 */
export function parseHeading(line: string): { level: number; text: string } | null {
  const opening = HEADING_OPENING.exec(line);
  if (!opening) return null;
  const rest = line.slice(opening[0].length).trim();
  let end = rest.length;
  while (end > 0 && rest[end - 1] === '#') end--;
  const text = rest.slice(0, end).trimEnd();
  // "#  " or "# ##" names nothing: left as a body line.
  return text ? { level: opening[1]!.length, text } : null;
}

/**
 * Cuts a Markdown document at its headings: each passage is one section,
 * headed by the path of headings above it ("Deleting data › What stays"), so
 * a passage found on its own still says what it is about. Long sections are
 * split further on paragraph ends, each piece keeping the heading path.
 */
export function chunkMarkdown(markdown: string, size = 800): string[] {
  const path: string[] = [];
  const sections: { heading: string; lines: string[] }[] = [];
  let current: { heading: string; lines: string[] } = { heading: '', lines: [] };
  let fenced = false;
  for (const line of markdown.replace(/\r\n?/g, '\n').split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : parseHeading(line);
    if (!heading) {
      current.lines.push(line);
      continue;
    }
    sections.push(current);
    path.length = Math.min(path.length, heading.level - 1);
    path[heading.level - 1] = heading.text;
    current = { heading: path.filter(Boolean).join(' › '), lines: [] };
  }
  sections.push(current);
  const chunks: string[] = [];
  for (const section of sections) {
    const body = section.lines.join('\n').trim();
    if (!body) continue;
    const room = Math.max(200, size - section.heading.length - 2);
    for (const piece of chunkText(body, room)) chunks.push(section.heading ? `${section.heading}\n\n${piece}` : piece);
  }
  // A document of headings only still gets found by its title.
  if (chunks.length === 0 && sections.some((s) => s.heading)) chunks.push(sections.filter((s) => s.heading).map((s) => s.heading).join('\n'));
  return chunks;
}
