import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

// Every link in the repository's Markdown points at something a clone has: a file of the
// repository, a heading of the file it names, or a URL. No server needed.

const ROOT = path.resolve(__dirname, '..');
const NOT_SOURCES = new Set(['node_modules', 'dist', 'coverage', '.git']);

function markdownFiles(directory = ROOT): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return NOT_SOURCES.has(entry.name) ? [] : markdownFiles(full);
    return entry.name.endsWith('.md') ? [full] : [];
  });
}

/** The text without fenced code blocks and code spans, where `](` is code, not a link. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsIn(file: string): Set<string> {
  const markdown = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
  return new Set([...markdown.matchAll(/^#{1,6}\s+(.+)$/gm)].map(([, heading]) => anchorOf(heading)));
}

/**
 * Link targets: [text](target) and ![alt](target) (with a <target in angle brackets> too),
 * reference definitions `[label]: target`, HTML `href="…"` / `src="…"`, and <scheme://…> autolinks.
 */
function linksIn(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\((?:<([^>\n]+)>|([^)\s]+))(?:\s+"[^"]*")?\)/g)].map(([, angled, bare]) => angled ?? bare);
  const definitions = [...text.matchAll(/^ {0,3}\[[^\]\n]+\]:\s*(?:<([^>\n]+)>|(\S+))/gm)].map(([, angled, bare]) => angled ?? bare);
  const html = [...text.matchAll(/\b(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)].map(([, double, single]) => double ?? single);
  const autolinks = [...text.matchAll(/<([a-z][a-z0-9+.-]*:[^>\s]+)>/gi)].map(([, target]) => target);
  return [...inline, ...definitions, ...html, ...autolinks];
}

/** Why `target`, linked from `file`, does not resolve; undefined when it does. */
function brokenBecause(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    if (!/^(https?|mailto):/i.test(target)) return 'not an http(s) or mailto URL';
    try {
      new URL(target);
      return undefined;
    } catch {
      return 'not a valid URL';
    }
  }
  const [pathPart, anchor] = target.split('#', 2);
  const linked = pathPart === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(pathPart));
  if (path.relative(ROOT, linked).startsWith('..')) return 'outside the repository';
  if (!existsSync(linked)) return 'no such file in the repository';
  if (anchor !== undefined && statSync(linked).isFile() && linked.endsWith('.md') && !anchorsIn(linked).has(anchor)) {
    return `no heading #${anchor} in ${path.relative(ROOT, linked)}`;
  }
  return undefined;
}

describe('links in the Markdown files', () => {
  const files = markdownFiles();

  it('finds the README, the architecture and their links', () => {
    expect(files.map((file) => path.relative(ROOT, file))).toEqual(expect.arrayContaining(['README.md', 'docs/ARCHITECTURE.md']));
    expect(linksIn(readFileSync(path.join(ROOT, 'README.md'), 'utf8'))).toEqual(expect.arrayContaining(['docs/ARCHITECTURE.md', 'LICENSE', '#two-commands']));
  });

  it('every link points at a file of the repository, one of its headings, or a URL', () => {
    const broken = files.flatMap((file) =>
      linksIn(readFileSync(file, 'utf8'))
        .map((target) => ({ target, reason: brokenBecause(file, target) }))
        .filter(({ reason }) => reason !== undefined)
        .map(({ target, reason }) => `${path.relative(ROOT, file)}: ${target}: ${reason}`),
    );
    expect(broken).toEqual([]);
  });

  it('tells a broken link from a good one', () => {
    const readme = path.join(ROOT, 'README.md');
    expect(brokenBecause(readme, '../shared/ARCHITECTURE.md')).toBe('outside the repository');
    expect(brokenBecause(readme, 'docs/NOWHERE.md')).toBe('no such file in the repository');
    expect(brokenBecause(readme, '#no-such-heading')).toBe('no heading #no-such-heading in README.md');
    expect(brokenBecause(readme, 'docs/ARCHITECTURE.md#target-architecture')).toBeUndefined();
    expect(brokenBecause(readme, 'http://127.0.0.1:3000/docs')).toBeUndefined();
  });

  it('finds reference-style links and HTML links too, not only inline ones', () => {
    const markdown = [
      'See [the design][design] and [LICENSE][].',
      '',
      '[design]: ../shared/ARCHITECTURE.md',
      '[license]: <docs/NO SUCH.md> "the licence"',
      '<a href="docs/NOWHERE.md">nowhere</a> <img src="docs/missing.png" alt="">',
    ].join('\n');
    expect(linksIn(markdown)).toEqual(expect.arrayContaining(['../shared/ARCHITECTURE.md', 'docs/NO SUCH.md', 'docs/NOWHERE.md', 'docs/missing.png']));
  });
});
