import { z } from 'zod';

/**
 * The original Dispenser took each enum value under several spellings: its Rust variant name
 * ("OnTrigger"), lower case with "-", "_", a space or nothing between the words. Rather than
 * list aliases per field, every value is compared by one key: lower case, separators dropped.
 */
export function spellingKey(value: string): string {
  return value.trim().toLowerCase().replace(/[\s_-]+/g, '');
}

/**
 * An enum that accepts any spelling of its values and of the given aliases, and outputs the
 * canonical value. Anything else reaches z.enum unchanged, so a real typo is still reported,
 * with "did you mean" against the values and aliases as documented.
 */
export function spelledEnum<const T extends readonly [string, ...string[]]>(values: T, aliases: Readonly<Record<string, T[number]>> = {}) {
  const documented = [...values, ...Object.keys(aliases)] as [string, ...string[]];
  const byKey = new Map(documented.map((v) => [spellingKey(v), v]));
  return z
    .preprocess((input) => (typeof input === 'string' ? (byKey.get(spellingKey(input)) ?? input) : input), z.enum(documented))
    .transform((v): T[number] => aliases[v] ?? v);
}
