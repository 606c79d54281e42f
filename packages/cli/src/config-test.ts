/** `dispenser --test`: validate and print every problem with a code frame. Returns the exit code. */
export interface Output {
  log(line: string): void;
  error(line: string): void;
}

export async function runConfigTest(_configFile: string, out: Output): Promise<number> {
  out.error('dispenser --test: not implemented yet');
  return 2;
}
