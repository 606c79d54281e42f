import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TIMER_MS, parseCpus, parseDuration, parseMemory, parseTimerDuration } from '../../src/config/units.js';
import { splitShellWords } from '../../src/config/shell-words.js';
import { closest } from '../../src/config/suggest.js';

test('durations become milliseconds', () => {
  const table: [string, number | undefined][] = [
    ['500ms', 500], ['5s', 5000], ['1.5s', 1500], ['2m', 120_000], ['1h', 3_600_000], ['1m30s', 90_000], ['0s', 0], ['1d', 86_400_000], ['180d', 180 * 86_400_000],
    ['5', undefined], ['5 s', undefined], ['', undefined], ['-1s', undefined], ['1w', undefined], ['s', undefined],
  ];
  for (const [input, want] of table) {
    const r = parseDuration(input);
    assert.deepEqual(r.ok ? r.value : undefined, want, input);
  }
});

test('durations are whole milliseconds; a timer duration fits a Node timer (longer ones would fire at once)', () => {
  for (const bad of ['0.4ms', '0.1ms', '1.5ms']) assert.equal(parseDuration(bad).ok, false, bad);
  assert.deepEqual(parseDuration('1.1s'), { ok: true, value: 1100 });
  assert.deepEqual(parseTimerDuration('24d'), { ok: true, value: 24 * 86_400_000 });
  for (const big of ['25d', '100000d', `${MAX_TIMER_MS + 1}ms`]) {
    const r = parseTimerDuration(big);
    assert.equal(r.ok, false, big);
    if (!r.ok) assert.match(r.expected, /at most "24d"/);
  }
  assert.equal(parseDuration('365d').ok, true, 'a duration that arms no timer (HSTS max-age) may be longer');
});

test('memory sizes become bytes (binary units, bare integers are bytes)', () => {
  const table: [string | number, number | undefined][] = [
    ['64m', 64 * 1024 ** 2], ['64MB', 64 * 1024 ** 2], ['1g', 1024 ** 3], ['1.5g', 1.5 * 1024 ** 3], ['512k', 512 * 1024], ['100b', 100], ['100', 100], [4096, 4096],
    ['12x', undefined], ['m', undefined], ['-1m', undefined], [0, undefined], [1.5, undefined], ['0m', undefined],
  ];
  for (const [input, want] of table) {
    const r = parseMemory(input);
    assert.deepEqual(r.ok ? r.value : undefined, want, String(input));
  }
});

test('cpus become nano-CPUs', () => {
  const table: [string | number, number | undefined][] = [['0.5', 500_000_000], ['2', 2_000_000_000], [1.25, 1_250_000_000], ['0.001', 1_000_000], ['0', undefined], ['-1', undefined], ['half', undefined], ['1e3', undefined]];
  for (const [input, want] of table) {
    const r = parseCpus(input);
    assert.deepEqual(r.ok ? r.value : undefined, want, String(input));
  }
});

test('command strings are split like a POSIX shell, without a shell', () => {
  const table: [string, string[] | undefined][] = [
    ['httpd -f -p 8000', ['httpd', '-f', '-p', '8000']],
    ['  spaced   out  ', ['spaced', 'out']],
    [`sh -c 'echo $HOME && ls'`, ['sh', '-c', 'echo $HOME && ls']],
    [`echo "a \\"quoted\\" \\$x \\n"`, ['echo', 'a "quoted" $x \\n']],
    ['back\\ slash a\\\\b', ['back slash', 'a\\b']],
    [`mixed"dq"'sq'plain`, ['mixeddqsqplain']],
    [`empty '' ""`, ['empty', '', '']],
    ['line\\\ncontinued', ['linecontinued']],
    [`unterminated 'quote`, undefined],
    ['unterminated "quote', undefined],
    ['trailing\\', undefined],
  ];
  for (const [input, want] of table) {
    const r = splitShellWords(input);
    assert.deepEqual(r.ok ? r.words : undefined, want, input);
  }
});

test('misspelt keys get the closest valid key, unrelated words none', () => {
  const keys = ['name', 'image', 'command', 'entrypoint', 'memory', 'cpus', 'restart'];
  assert.equal(closest('memroy', keys), 'memory');
  assert.equal(closest('imgae', keys), 'image');
  assert.equal(closest('cpu', keys), 'cpus');
  assert.equal(closest('Restart', keys), 'restart');
  assert.equal(closest('http-port', ['http_port', 'https_port']), 'http_port');
  assert.equal(closest('volumes', keys), undefined);
});
