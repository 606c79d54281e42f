/**
 * Splits a command line the way a POSIX shell does word splitting and quote removal (single and
 * double quotes, backslashes), without expansions and without running a shell.
 */
export type SplitResult = { ok: true; words: string[] } | { ok: false; expected: string };

export function splitShellWords(line: string): SplitResult {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === '\\') {
      const next = line[i + 1];
      if (next === undefined) return { ok: false, expected: 'a character after the trailing backslash' };
      if (next !== '\n') word += next; // backslash-newline is a line continuation
      i += 2;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return { ok: false, expected: 'a closing single quote (\')' };
      word += line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        const d = line[i];
        if (d === undefined) return { ok: false, expected: 'a closing double quote (")' };
        if (d === '"') break;
        const next = line[i + 1];
        // Inside double quotes a backslash only escapes $ ` " \ and newline.
        if (d === '\\' && next !== undefined && '$`"\\\n'.includes(next)) {
          if (next !== '\n') word += next;
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      i++;
    } else {
      word += c;
      i++;
    }
  }
  if (inWord) words.push(word);
  return { ok: true, words };
}
