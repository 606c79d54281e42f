/** One challenge of a `WWW-Authenticate` header (RFC 7235): scheme plus auth-params. */
export interface Challenge {
  /** lower-cased: `bearer`, `basic` */
  scheme: string;
  /** parameter names lower-cased, values unquoted */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;

/**
 * Parses a header that may hold several challenges (`Basic realm="a", Bearer realm="b",scope="c"`).
 * Unparseable input yields the challenges read so far rather than throwing: the caller then
 * reports "unsupported challenge" with the raw header.
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = (): void => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const readToken = (): string | undefined => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(header);
    if (!m) return undefined;
    i = TOKEN.lastIndex;
    return m[0];
  };
  const readQuoted = (): string | undefined => {
    if (header[i] !== '"') return undefined;
    i++;
    let v = '';
    while (i < n && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < n) i++;
      v += header[i];
      i++;
    }
    if (i >= n) return undefined;
    i++;
    return v;
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipSpace();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const start = i;
    const word = readToken();
    if (word === undefined) break;
    skipSpace();
    if (header[i] === '=' && current !== undefined) {
      // auth-param of the current challenge (a token68 would end in '=' too, but registries never send one)
      i++;
      skipSpace();
      const value = header[i] === '"' ? readQuoted() : readToken();
      if (value === undefined) break;
      current.params[word.toLowerCase()] = value;
      continue;
    }
    if (header[i] === '=' && current === undefined) {
      i = start;
      break;
    }
    current = { scheme: word.toLowerCase(), params: {} };
    out.push(current);
  }
  return out;
}
