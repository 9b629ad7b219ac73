import { chunkText } from './embedder.ts';

const HEADING = /^(#{1,6})\s+(.+?)\s*#*\s*$/;

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
    const match = fenced ? null : HEADING.exec(line);
    if (!match) {
      current.lines.push(line);
      continue;
    }
    sections.push(current);
    const level = match[1]!.length;
    path.length = Math.min(path.length, level - 1);
    path[level - 1] = match[2]!;
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
