import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTemplate } from '../../src/config/template.js';
import { TEMPLATE_LIMITS } from '../../src/config/template-values.js';

/**
 * Config templates are read by a daemon running as root (and by `dispenser --test`): no template
 * may run code, reach a JavaScript object of the process, or read anything but its variables.
 * Every payload below tries to set globalThis.pwned; none may, and each must fail as a template
 * error (not crash, not render).
 */
const g = globalThis as { pwned?: unknown };
const PAYLOAD = '"globalThis.pwned = 1; return 1"';
const vars = { name: 'web', xs: ['a', 'b'], n: 1 };

const hostile: string[] = [
  `\${ name.constructor.constructor(${PAYLOAD})() }`,
  `\${ xs.constructor.constructor(${PAYLOAD})() }`,
  `\${ n.constructor.constructor(${PAYLOAD})() }`,
  `\${ name["constructor"]["constructor"](${PAYLOAD})() }`,
  `{% set c = "constructor" %}\${ name[c][c](${PAYLOAD})() }`,
  `\${ (name | upper).constructor.constructor(${PAYLOAD})() }`,
  `\${ "".constructor.constructor(${PAYLOAD})() }`,
  `\${ [].constructor.constructor(${PAYLOAD})() }`,
  `{% set d = {"a": 1} %}\${ d.constructor.constructor(${PAYLOAD})() }`,
  `{% set d = {"a": 1} %}\${ d.__proto__.constructor.constructor(${PAYLOAD})() }`,
  `\${ xs.__proto__ }`,
  `\${ xs.constructor.prototype }`,
  `\${ range.constructor(${PAYLOAD})() }`,
  `\${ range.call }`,
  `\${ dict.constructor(${PAYLOAD})() }`,
  `\${ cycler.constructor(${PAYLOAD})() }`,
  `\${ joiner.constructor(${PAYLOAD})() }`,
  `{% for x in xs %}\${ loop.constructor.constructor(${PAYLOAD})() }{% endfor %}`,
  `{% for x in xs %}\${ loop.cycle.constructor(${PAYLOAD})() }{% endfor %}`,
  `\${ (xs | map("upper")).constructor.constructor(${PAYLOAD})() }`,
  `\${ r/x/.constructor.constructor(${PAYLOAD})() }`,
  '${ process.env.HOME }',
  '${ process.mainModule.require("child_process") }',
  '${ require("child_process") }',
  '${ global.process }',
  '${ globalThis.process }',
  '${ this }',
  `\${ Function(${PAYLOAD})() }`,
  '${ eval("globalThis.pwned = 1") }',
  '${ name.toString() }',
  '${ name.length }',
  '${ xs.map }',
  '${ name | attr("constructor") }',
  '{% include "/etc/passwd" %}',
  '{% import "/etc/passwd" as p %}',
  '{% extends "/etc/passwd" %}',
  '{% macro m() %}x{% endmacro %}',
];

for (const src of hostile) {
  test(`cannot escape the sandbox: ${src}`, () => {
    delete g.pwned;
    const r = renderTemplate(src, vars);
    assert.equal(g.pwned, undefined, 'code ran');
    assert.equal(r.ok, false, JSON.stringify(r));
    if (!r.ok) assert.match(r.errors[0]!.code, /^CONFIG_(UNDEFINED_VARIABLE|TEMPLATE_SYNTAX)$/);
  });
}

test('the process environment is not readable: only declared variables are', () => {
  process.env.DISPENSER_TEMPLATE_SECRET = 's3cret';
  try {
    for (const src of ['${ DISPENSER_TEMPLATE_SECRET }', '${ env.DISPENSER_TEMPLATE_SECRET }', '${ environ.DISPENSER_TEMPLATE_SECRET }']) {
      const r = renderTemplate(src, vars);
      assert.equal(r.ok, false, src);
      assert.doesNotMatch(JSON.stringify(r), /s3cret/);
    }
  } finally {
    delete process.env.DISPENSER_TEMPLATE_SECRET;
  }
});

test('variables are copied as data: getters are not called, functions are not callable', () => {
  let calls = 0;
  const tricky = {
    obj: Object.defineProperty({ plain: 'x' }, 'secret', { enumerable: true, get: () => { calls++; return 'leaked'; } }),
    fn: () => { g.pwned = 1; return 'ran'; },
  };
  delete g.pwned;
  const json = renderTemplate('${ obj | tojson }', tricky);
  assert.deepEqual(json, { ok: true, text: '{"plain":"x"}' });
  const call = renderTemplate('${ fn() }', tricky);
  assert.equal(call.ok, false);
  assert.equal(calls, 0);
  assert.equal(g.pwned, undefined);
});

test('runaway templates stop with CONFIG_TEMPLATE_LIMIT and a position, quickly', () => {
  const cases = [
    '{% for i in range(100000000) %}x{% endfor %}',
    '{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}',
    '\n${ "x" * 100000000 }',
    '{% set s = "xxxxxxxxxxxxxxxx" %}{% set s = s ~ s ~ s ~ s %}{% for i in range(100000) %}${ s ~ s ~ s ~ s }{% endfor %}',
    '{% set s = "x" %}{% for i in range(50000) %}${ s | indent(1000, true) }{% endfor %}',
    '${ "x" | indent(1000000000) }',
    '{% set big = "x" * 4000000 %}{% for i in range(100000) %}{% set t = big | upper %}{% endfor %}',
    '{% set big = "x" * 4000000 %}{% for i in range(100000) %}{% if "y" in big %}{% endif %}{% endfor %}',
    '${ [] * 100000000 }',
    '{% set big = "x" * 4000000 %}${ big | replace("x", big) }',
    '{% set big = "x" * 4000000 %}${ [1, 2, 3] | join(big) }',
    '{% set big = range(100000) %}${ (big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big + big) | length }',
    `\${ ${'('.repeat(5000)}1${')'.repeat(5000)} }`,
    `\${ ${'['.repeat(5000)}1${']'.repeat(5000)} }`,
    `${'{% if true %}'.repeat(3000)}x${'{% endif %}'.repeat(3000)}`,
  ];
  for (const src of cases) {
    const started = Date.now();
    const r = renderTemplate(src, vars);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms: ${src.slice(0, 60)}`);
    assert.equal(r.ok, false, src.slice(0, 60));
    if (!r.ok) assert.equal(r.errors[0]!.code, 'CONFIG_TEMPLATE_LIMIT', `${src.slice(0, 60)}: ${r.errors[0]!.message}`);
  }
  const at = renderTemplate('a = 1\nb = "${ "x" * 100000000 }"', vars);
  assert.equal(at.ok, false);
  if (!at.ok) assert.equal(at.errors[0]!.line, 2);
});

test('templates well inside the limits render', () => {
  const r = renderTemplate(`{% for i in range(${TEMPLATE_LIMITS.maxIterations / 10}) %}x{% endfor %}`, vars);
  assert.equal(r.ok && r.text.length, TEMPLATE_LIMITS.maxIterations / 10);
});

test('template errors name types, not values: a value may be a secret', () => {
  const secret = { token: 's3cret-t0ken', pairs: ['s3cret-t0ken'] };
  for (const src of ['${ token | int }', '${ token | float }', '{% for a, b in pairs %}{% endfor %}', '${ token + 1 }', '${ token < 1 }']) {
    const r = renderTemplate(src, secret);
    assert.equal(r.ok, false, src);
    assert.doesNotMatch(JSON.stringify(r), /s3cret/, src);
  }
});
