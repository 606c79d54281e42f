import type { ConfigProblem } from './problem.js';

export const REDACTED = '[secret]';

/**
 * Any run of this many characters taken from a secret is redacted wherever it appears, not just
 * the whole value: a message that echoes a value truncated ("got \"3f9a…\"") or a log line cut
 * at a length limit carries a piece of the secret, and a piece is already a leak.
 */
export const MIN_FRAGMENT = 8;

/**
 * Next to an ellipsis ("…" or "..."), a shorter piece still counts: the start of a secret
 * followed by an ellipsis, or an ellipsis followed by its end, is a truncated echo. Shorter
 * pieces than this are left alone, so ordinary words next to an ellipsis survive.
 */
export const MIN_TRUNCATED = 6;

const ELLIPSES = ['…', '...'] as const;

/** Removes every secret value from problem messages (a value can reach one through a template). */
export function redactProblems(problems: readonly ConfigProblem[], secretValues: readonly string[]): ConfigProblem[] {
  const scrub = redactor(secretValues);
  return problems.map((p) => ({ ...p, message: scrub(p.message) }));
}

/**
 * A function that scrubs these secret values from any text: every whole value (whatever its
 * length), every run of MIN_FRAGMENT or more characters of one, and a prefix/suffix of
 * MIN_TRUNCATED or more next to an ellipsis. The same holds for each value's JSON-escaped form
 * (quotes and newlines escaped), which "got …" texts show. Overlapping and adjacent matches
 * become one REDACTED marker, so the length of what was hidden is not shown either.
 *
 * This over-redacts on purpose: an 8-character run of a secret that also occurs in ordinary text
 * (say "https://" of a secret URL) is hidden there too.
 */
export function redactor(secretValues: readonly string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const v of secretValues) {
    if (v === '') continue;
    forms.add(fold(v));
    const json = JSON.stringify(v).slice(1, -1);
    if (json !== v) forms.add(fold(json));
  }
  if (forms.size === 0) return (text) => text;
  const whole = [...forms];
  const fragments = new Set<string>();
  for (const f of whole) for (let i = 0; i + MIN_FRAGMENT <= f.length; i++) fragments.add(f.slice(i, i + MIN_FRAGMENT));
  // pieces shorter than MIN_FRAGMENT that count only next to an ellipsis; longer ones are fragments anyway
  const heads = new Set<string>();
  const tails = new Set<string>();
  for (const f of whole) {
    for (let n = MIN_TRUNCATED; n < Math.min(MIN_FRAGMENT, f.length); n++) {
      heads.add(f.slice(0, n));
      tails.add(f.slice(f.length - n));
    }
  }
  return (original) => {
    // matched without regard to case (a template can print `${ secret | upper }`); hidden in the original
    const text = fold(original);
    const hidden = new Uint8Array(text.length);
    const hide = (from: number, to: number): void => {
      hidden.fill(1, Math.max(0, from), Math.min(text.length, to));
    };
    for (const f of whole) for (let i = text.indexOf(f); i >= 0; i = text.indexOf(f, i + 1)) hide(i, i + f.length);
    for (let i = 0; i + MIN_FRAGMENT <= text.length; i++) if (fragments.has(text.slice(i, i + MIN_FRAGMENT))) hide(i, i + MIN_FRAGMENT);
    if (heads.size > 0) {
      for (const e of ELLIPSES) {
        for (let p = text.indexOf(e); p >= 0; p = text.indexOf(e, p + 1)) {
          for (let n = MIN_TRUNCATED; n < MIN_FRAGMENT; n++) {
            if (p - n >= 0 && heads.has(text.slice(p - n, p))) hide(p - n, p);
            const after = p + e.length;
            if (after + n <= text.length && tails.has(text.slice(after, after + n))) hide(after, after + n);
          }
        }
      }
    }
    let out = '';
    for (let i = 0; i < text.length; ) {
      if (hidden[i] === 0) {
        let j = i;
        while (j < text.length && hidden[j] === 0) j++;
        out += original.slice(i, j);
        i = j;
      } else {
        while (i < text.length && hidden[i] === 1) i++;
        out += REDACTED;
      }
    }
    return out;
  };
}

/** Lower case, one UTF-16 unit for one, so positions in the folded text are positions in the original. */
function fold(text: string): string {
  let out = '';
  for (const c of text) {
    const l = c.toLowerCase();
    out += l.length === c.length ? l : c;
  }
  return out;
}

export function redact(text: string, values: readonly string[]): string {
  return redactor(values)(text);
}

/**
 * Redacts, then shortens to at most `max` characters with an ellipsis: in that order, so the cut
 * can never leave a piece of a secret that no longer matches it whole.
 */
export function redactThenTruncate(text: string, scrub: (text: string) => string, max: number): string {
  const clean = scrub(text);
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
