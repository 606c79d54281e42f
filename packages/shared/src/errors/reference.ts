import { errorAnchor, errorCatalogue, type ErrorArea, type ErrorCode, type ErrorEntry } from './catalogue.js';

/**
 * Renders the code tables of docs/reference/errors.md from the catalogue. The page keeps its
 * prose; each table sits between a pair of markers and is replaced whole, so an entry is written
 * once (in the catalogue) and the page cannot list a code the program does not know, or miss one.
 */

const END = '<!-- /error-codes -->';
const begin = (area: ErrorArea): string => `<!-- error-codes ${area}: generated from packages/shared/src/errors/catalogue.ts by \`npm run docs:errors\`; edit the catalogue, not this table -->`;

type Catalogue = Readonly<Record<string, ErrorEntry>>;

/** The table of one area; codes that follow each other with the same text share a row. */
export function renderErrorTable(area: ErrorArea, catalogue: Catalogue = errorCatalogue): string {
  const rows: { codes: string[]; entry: ErrorEntry }[] = [];
  for (const [code, entry] of Object.entries(catalogue)) {
    if (entry.area !== area) continue;
    const last = rows.at(-1);
    if (last && last.entry.where === entry.where && last.entry.action === entry.action) last.codes.push(code);
    else rows.push({ codes: [code], entry });
  }
  const cell = (text: string): string => text.replaceAll('|', '\\|');
  const lines = ['| code | where | what to do |', '|---|---|---|'];
  // an anchor per code, so a log line's code links straight to its row (errorDocsLink)
  for (const r of rows) lines.push(`| ${r.codes.map((c) => `<a id="${errorAnchor(c as ErrorCode)}"></a>\`${c}\``).join(', ')} | ${cell(r.entry.where)} | ${cell(r.entry.action)} |`);
  return lines.join('\n');
}

/** The page with every marked table rendered anew; throws when an area has no markers. */
export function updateErrorReference(page: string, catalogue: Catalogue = errorCatalogue): string {
  const areas = [...new Set(Object.values(catalogue).map((e) => e.area))];
  let out = page;
  for (const area of areas) {
    const start = out.indexOf(begin(area));
    const end = start < 0 ? -1 : out.indexOf(END, start);
    if (start < 0 || end < 0) throw new Error(`docs/reference/errors.md has no table for the area "${area}" (the line ${begin(area)} … ${END})`);
    out = `${out.slice(0, start)}${begin(area)}\n${renderErrorTable(area, catalogue)}\n${out.slice(end)}`;
  }
  return out;
}
