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
 * An enum that accepts any spelling of its values (and of the given aliases) and outputs the
 * canonical value. Anything else reaches z.enum unchanged, so a real typo is still reported
 * with "did you mean" against the canonical values.
 */
export function spelledEnum<const T extends readonly [string, ...string[]]>(values: T, aliases: Readonly<Record<string, T[number]>> = {}) {
  const byKey = new Map<string, T[number]>();
  for (const v of values) byKey.set(spellingKey(v), v);
  for (const [alias, v] of Object.entries(aliases)) byKey.set(spellingKey(alias), v);
  return z.preprocess((input) => (typeof input === 'string' ? (byKey.get(spellingKey(input)) ?? input) : input), z.enum(values));
}
