/**
 * Markdown building blocks that stay inert whatever a database names its objects:
 * PostgreSQL identifiers may hold quotes, backticks, pipes, `<`, `*`, even newlines.
 */

/**
 * Inline text with every character GitHub markdown would act on escaped (emphasis,
 * code, links, HTML, entities, strikethrough, emoji shortcodes) and line starts that
 * would open a heading, list, quote or rule. Whitespace runs, newlines included, become
 * one space. Pipes are left to `tableCell`, since only tables give them a meaning.
 */
export function escapeMarkdown(text: string): string {
  return oneLine(text)
    .replace(/[\\`*_[\]<>~&:#!]/g, '\\$&')
    .replace(/^([-+=])/, '\\$1')
    .replace(/^(\d+)([.)])(?= |$)/, '$1\\$2');
}

/** Text as a code span, fenced with more backticks than it contains (CommonMark's rule). */
export function codeSpan(text: string): string {
  const content = oneLine(text);
  const fence = '`'.repeat(longestRun(content, '`') + 1);
  const pad = content.startsWith('`') || content.endsWith('`') || /^ .* $/.test(content) ? ' ' : '';
  return `${fence}${pad}${content}${pad}${fence}`;
}

/** A fenced code block whose fence no line of the code can close early. */
export function codeBlock(code: string, language: string): string {
  const fence = '`'.repeat(Math.max(3, longestRun(code, '`') + 1));
  return `${fence}${language}\n${code}\n${fence}`;
}

/**
 * Inline markdown made safe for a table cell. GitHub splits a row on every pipe not
 * preceded by a backslash, inside code spans too, then turns each `\|` back into `|`
 * before reading the cell: so every pipe gets one more backslash, whatever precedes it.
 */
export function tableCell(markdown: string): string {
  return markdown.replaceAll('|', '\\|');
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ');
}

function longestRun(text: string, char: string): number {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}
