import { describe, expect, it } from 'vitest';
import { parseMarkdownArticle } from '../helpdesk.ts';
import { chunkText } from './embedder.ts';
import { chunkMarkdown } from './markdown.ts';

/** A heading followed by a long run of spaces: what made the old heading regexes backtrack for hours. */
const SPACED_HEADING = `# a${' '.repeat(100_000)}x`;

const nonSpace = (text: string) => text.replace(/\s+/g, '');

/** Runs fn and fails if it took longer than ms: a guard against hangs, not a benchmark. */
function withinMs<T>(ms: number, fn: () => T): T {
  const started = performance.now();
  const result = fn();
  expect(performance.now() - started).toBeLessThan(ms);
  return result;
}

describe('chunkMarkdown', () => {
  it('parses a heading followed by 100,000 spaces without hanging', () => {
    const chunks = withinMs(2000, () => chunkMarkdown(`${SPACED_HEADING}\n\nBody text.`));
    expect(chunks).toEqual([`a${' '.repeat(100_000)}x\n\nBody text.`]);
  });

  it('heads each section with its path of headings, trimming closing #s and spaces as before', () => {
    const markdown = ['# Guide', '', 'Intro.', '', '## Setup ##', '', 'Install it.', '', '### Linux   ', '', 'Use apt.', '', '## Usage\t#', '', 'Run it.', '', '####### Not a heading', '', '#NoSpace'].join('\n');
    expect(chunkMarkdown(markdown)).toEqual([
      'Guide\n\nIntro.',
      'Guide › Setup\n\nInstall it.',
      'Guide › Setup › Linux\n\nUse apt.',
      'Guide › Usage\n\nRun it.\n\n####### Not a heading\n\n#NoSpace',
    ]);
  });

  it('leaves fenced code alone', () => {
    expect(chunkMarkdown('# Title\n\n```\n# comment\n```')).toEqual(['Title\n\n```\n# comment\n```']);
  });
});

describe('parseMarkdownArticle', () => {
  it('parses a title followed by 100,000 spaces without hanging', () => {
    const article = withinMs(2000, () => parseMarkdownArticle('spaces.md', `${SPACED_HEADING}\nBody`));
    expect(article.title).toBe(`a${' '.repeat(100_000)}x`);
    expect(article.body).toBe('Body');
  });

  it('takes the first "# Title" line as the title, else the file name', () => {
    expect(parseMarkdownArticle('faq.md', '\uFEFF\n\n# Frequently asked #\r\n\r\nBody.')).toEqual({ slug: 'faq', title: 'Frequently asked', body: 'Body.' });
    expect(parseMarkdownArticle('data_export.md', '## Not a title\n\nBody.')).toEqual({ slug: 'data-export', title: 'data export', body: '## Not a title\n\nBody.' });
  });
});

describe('chunkText', () => {
  it('keeps every character of long text without whitespace, cut at the limit', () => {
    const chinese = '数据存储在欧盟境内的数据中心'.repeat(215).slice(0, 3000);
    const chunks = chunkText(chinese, 800);
    expect(chunks.every((c) => c.length <= 800)).toBe(true);
    expect(chunks.join('')).toBe(chinese);
    const url = `https://example.test/${'a'.repeat(2000)}`;
    expect(nonSpace(chunkText(`See ${url} for details.`, 800).join(''))).toBe(nonSpace(`See ${url} for details.`));
  });

  it('still breaks long text at whitespace, losing nothing', () => {
    const words = Array.from({ length: 600 }, (_, i) => `word${i}`).join(' ');
    const chunks = chunkText(words, 800);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((c) => c.length <= 800)).toBe(true);
    expect(chunks.join(' ')).toBe(words);
  });

  it('never splits a surrogate pair', () => {
    const emoji = '😀'.repeat(1000);
    const chunks = chunkText(emoji, 801);
    expect(chunks.join('')).toBe(emoji);
    expect(chunks.every((c) => !/[\ud800-\udbff]$/.test(c))).toBe(true);
  });
});
