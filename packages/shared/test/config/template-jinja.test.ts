import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTemplate } from '../../src/config/template.js';

/**
 * Templates written for the original Dispenser (MiniJinja, `${ }` for expressions) must render the
 * same here. Expected outputs follow MiniJinja's documented behaviour: floats print as `2.0`,
 * lists as `["a", "b"]`, `none` for null, maps with sorted keys, tojson escaping `<>&'`.
 */
const vars = { name: 'web', xs: ['p', 'q'], n: 1, neg: -3, empty: '', mixed: 'hello wORLD', ports: [80, 443] };
const USERS = '{% set us = [{"n": "a", "on": true, "age": 30}, {"n": "b", "on": false, "age": 20}] %}';
const MAP = '{% set o = {"b": 2, "a": 1} %}';

const cases: [string, string][] = [
  // default / d
  ['${ missing | default("fallback") }', 'fallback'],
  ['${ missing | d("x") }', 'x'],
  ['${ name | default("x") }', 'web'],
  ['${ empty | default("x") }', ''],
  ['${ empty | default("x", true) }', 'x'],
  ['${ empty | default("x", boolean=true) }', 'x'],
  [`${MAP}\${ o.zzz | default("none here") }`, 'none here'],
  ['{% set v = none %}${ v | default("x") }', 'none'],
  // case
  ['${ name | upper }', 'WEB'],
  ['${ "ABC" | lower }', 'abc'],
  ['${ mixed | title }', 'Hello World'],
  ['${ mixed | capitalize }', 'Hello world'],
  // strings
  ['${ "a-b-c" | replace("-", "_") }', 'a_b_c'],
  ['${ 1.25 | replace(".", "-") }${ n | upper }', '1-251'],
  ['${ "  a b  " | trim }', 'a b'],
  ['${ "xxaxx" | trim("x") }', 'a'],
  ['${ xs | join(", ") }', 'p, q'],
  ['${ xs | join }', 'pq'],
  [`${USERS}\${ us | join(",", attribute="n") }`, 'a,b'],
  ['${ "a\nb" | indent(2) }', 'a\n  b'],
  ['${ "a\nb" | indent(2, true) }', '  a\n  b'],
  ['${ "<a href=\'x\'>&" | escape }', '&lt;a href=&#x27;x&#x27;&gt;&amp;'],
  ['${ "<b>" | safe }', '<b>'],
  ['${ "a b" | split | join("+") }', 'a+b'],
  // lengths and items
  ['${ xs | length }', '2'],
  ['${ "héllo" | count }', '5'],
  [`${MAP}\${ o | length }`, '2'],
  ['${ xs | first }${ xs | last }', 'pq'],
  ['${ "abc" | first }', 'a'],
  [`${MAP}{% for k, v in o | items %}\${ k }=\${ v };{% endfor %}`, 'a=1;b=2;'],
  [`${MAP}{% for k, v in o | dictsort(reverse=true) %}\${ k };{% endfor %}`, 'b;a;'],
  [`${MAP}{% for k in o %}\${ k }{% endfor %}`, 'ab'],
  // conversions
  ['${ "42" | int + 1 }', '43'],
  ['${ "3.7" | int }', '3'],
  ['${ "1.5" | float }', '1.5'],
  ['${ 2 | float }', '2.0'],
  ['${ 5 | string ~ "x" }', '5x'],
  ['${ "ab" | list }', '["a", "b"]'],
  ['${ 1 | bool }', 'true'],
  // json
  ['${ xs | tojson }', '["p","q"]'],
  ['${ "a<b>&\'c" | tojson }', '"a\\u003cb\\u003e\\u0026\\u0027c"'],
  ['${ ports | tojson }', '[80,443]'],
  [`${MAP}\${ o | tojson }`, '{"a":1,"b":2}'],
  [`${MAP}\${ o | tojson(indent=2) }`, '{\n  "a": 1,\n  "b": 2\n}'],
  ['{% set v = [true, none, 1.5] %}${ v | tojson }', '[true,null,1.5]'],
  ['${ {"a": 1} | tojson }', '{"a":1}'],
  ['${ [1, 2, 3] | select("==", 2) | list }${ 1 is in([1]) }', '[2]true'],
  ['{% set v = {"10": [], "9": {}, "a": [1, {"b": "c"}]} %}${ v | tojson }', '{"10":[],"9":{},"a":[1,{"b":"c"}]}'],
  ['{% set v = {"a": [1, 2]} %}${ v | tojson(2) }', '{\n  "a": [\n    1,\n    2\n  ]\n}'],
  // lists
  ['${ ["b", "A", "c"] | sort | join }', 'Abc'],
  ['${ ["b", "A", "c"] | sort(reverse=true) | join }', 'cbA'],
  [`${USERS}\${ us | sort(attribute="age") | map(attribute="n") | join }`, 'ba'],
  ['${ ["a", "b", "a"] | unique | join }', 'ab'],
  ['${ xs | reverse | join }', 'qp'],
  ['${ "abc" | reverse }', 'cba'],
  ['${ [3, 1, 2] | min }${ [3, 1, 2] | max }', '13'],
  ['${ [1, 2, 3] | sum }', '6'],
  ['${ xs | map("upper") | join }', 'PQ'],
  [`${USERS}\${ us | map(attribute="n") | join(",") }`, 'a,b'],
  [`${USERS}\${ us | selectattr("on") | map(attribute="n") | join }`, 'a'],
  [`${USERS}\${ us | rejectattr("on") | map(attribute="n") | join }`, 'b'],
  [`${USERS}\${ us | selectattr("age", "gt", 25) | map(attribute="n") | join }`, 'a'],
  ['${ [1, 2, 3, 4] | select("odd") | join }', '13'],
  ['${ [1, 2, 3, 4] | reject("odd") | join }', '24'],
  ['${ [1, 2, 3, 4, 5] | batch(2) | tojson }', '[[1,2],[3,4],[5]]'],
  // numbers
  ['${ 3.7 | round }', '4.0'],
  ['${ 2.5 | round }${ -2.5 | round }', '3.0-3.0'],
  ['${ 3.14159 | round(2) }', '3.14'],
  ['${ neg | abs }', '3'],
  ['${ 7 / 2 }', '3.5'],
  ['${ 4 / 2 }', '2.0'],
  ['${ 7 // 2 }', '3'],
  ['${ 7 % 3 }', '1'],
  ['${ 2 ** 3 }', '8'],
  ['${ n + 1.5 }', '2.5'],
  ['${ "ab" * 2 }', 'abab'],
  ['${ -1 // 2 }', '-1'],
  // printing values
  ['${ xs }', '["p", "q"]'],
  ['${ true }${ false }${ none }', 'truefalsenone'],
  ['${ ports }', '[80, 443]'],
  ['${ n }', '1'],
  // operators and tests
  ['${ "p" in xs }${ "z" in xs }${ "ell" in "hello" }${ "z" not in xs }', 'truefalsetruetrue'],
  ['${ missing is defined }${ name is defined }${ missing is undefined }', 'falsetruetrue'],
  ['${ n is number }${ name is string }${ xs is sequence }${ 3 is odd }${ 4 is even }${ 9 is divisibleby(3) }', 'truetruetruetruetruetrue'],
  ['{% set v = none %}${ v is none }${ name is startingwith("w") }${ name is endingwith("b") }', 'truetruetrue'],
  ['${ "a" ~ 1 ~ true }', 'a1true'],
  ['${ "a" + "b" }', 'ab'],
  ['${ 1 < n + 1 <= 2 }', 'true'],
  ['${ n == 1.0 }${ name != "web" }', 'truefalse'],
  ['${ empty or "fallback" }${ name and "yes" }', 'fallbackyes'],
  ['${ not empty }', 'true'],
  // blocks
  ['{% if n > 1 %}many{% elif n == 1 %}one{% else %}none{% endif %}', 'one'],
  ['{% if [] %}y{% else %}n{% endif %}{% if "" %}y{% else %}n{% endif %}{% if 0.0 %}y{% else %}n{% endif %}', 'nnn'],
  ['{% for x in xs %}${ loop.index }${ x }{% if not loop.last %},{% endif %}{% endfor %}', '1p,2q'],
  ['{% for x in xs %}${ loop.index0 }${ loop.revindex }${ loop.first }{% endfor %}', '02true11false'],
  ['{% for x in [] %}x{% else %}empty{% endfor %}', 'empty'],
  ['{% for p in ports if p > 100 %}${ p }{% endfor %}', '443'],
  ['{% for i in range(3) %}${ i }{% endfor %}', '012'],
  ['{% for i in range(1, 10, 3) %}${ i }{% endfor %}', '147'],
  ['{% for x in xs %}${ loop.cycle("odd", "even") } {% endfor %}', 'odd even '],
  ['{% for a, b in [[1, 2], [3, 4]] %}${ a + b };{% endfor %}', '3;7;'],
  ['{% set y = name ~ "-1" %}${ y }', 'web-1'],
  ['{% set y %}captured ${ name }{% endset %}${ y }', 'captured web'],
  ['{% filter upper %}shout ${ name }{% endfilter %}', 'SHOUT WEB'],
  ['{% for x in xs %}{% set inner = x %}{% endfor %}${ inner is defined }', 'false'],
  ['${ "y" if n > 0 else "n" }', 'y'],
  ['[${ "y" if n > 5 }]', '[]'],
  ['${ dict(a=1).a }', '1'],
  // whitespace control, comments, raw
  ['a\n{%- if true -%}\nb\n{%- endif %}', 'ab'],
  ['a {#- a comment -#} b', 'ab'],
  ['x = "{% raw %}${HOME}{% endraw %}"', 'x = "${HOME}"'],
  ['${ xs[0] }${ xs[-1] }${ name[0] }', 'pqw'],
];

for (const [src, expected] of cases) {
  test(`renders like MiniJinja: ${src.replace(/\n/g, '\\n')}`, () => {
    const r = renderTemplate(src, vars);
    assert.deepEqual(r, { ok: true, text: expected }, JSON.stringify(r));
  });
}

test('a missing key used without a fallback is an error naming it, with its position', () => {
  const r = renderTemplate(`${MAP}\n  x = \${ o.zzz }`, vars);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.errors[0]!.code, 'CONFIG_UNDEFINED_VARIABLE');
  assert.equal(r.errors[0]!.line, 2);
  assert.match(r.errors[0]!.message, /o\.zzz/);
});

test('an unknown filter is one error at its position, even in a branch not taken', () => {
  const r = renderTemplate('a = 1\n{% if false %}b = "${ name | uper }"{% endif %}', vars);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(r.errors.map((e) => [e.code, e.line, e.column]), [['CONFIG_TEMPLATE_SYNTAX', 2, 30]]);
  assert.match(r.errors[0]!.message, /unknown filter "uper" \(did you mean "upper"\?\)/);
});

test('include, import, extends and macros are refused with the tag named', () => {
  for (const src of ['{% include "x.toml" %}', '{% macro m() %}x{% endmacro %}', '{% extends "b" %}']) {
    const r = renderTemplate(src, vars);
    assert.equal(r.ok, false, src);
    if (!r.ok) assert.match(r.errors[0]!.message, /not supported/, src);
  }
});
