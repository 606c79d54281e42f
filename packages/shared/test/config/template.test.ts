import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTemplate } from '../../src/config/template.js';

test('interpolation, if/elif/else and for render', () => {
  const src = 'a = "${ name }"\n{% if n > 1 %}many{% elif n == 1 %}one{% else %}none{% endif %}\n{% for x in xs %}${ x }-{% endfor %}\n{% raw %}${HOME}{% endraw %}';
  const r = renderTemplate(src, { name: 'web', n: 1, xs: ['p', 'q'] });
  assert.deepEqual(r, { ok: true, text: 'a = "web"\none\np-q-\n${HOME}' });
});

test('text without template syntax is returned untouched', () => {
  assert.deepEqual(renderTemplate('a = "$(date)" # {not a tag}', {}), { ok: true, text: 'a = "$(date)" # {not a tag}' });
});

test('every undefined variable is named with its position; loop variables, filters and "is defined" are not variables', () => {
  const src = 'x = "${ missing }"\n{% for h in hosts %}${ h | upper } ${ loop.index }{% endfor %}\n{% if other is defined %}{% endif %}{% set y = 1 %}${ y }\n${ also.missing }';
  const r = renderTemplate(src, { hosts: ['a'] });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(
    r.errors.map((e) => [e.code, e.line, e.column, e.message.split(';')[0]]),
    [
      ['CONFIG_UNDEFINED_VARIABLE', 1, 9, 'undefined variable "missing"'],
      ['CONFIG_UNDEFINED_VARIABLE', 4, 4, 'undefined variable "also"'],
    ],
  );
});

test('syntax errors carry a position', () => {
  const r = renderTemplate('a = 1\nb = "${ x "\n', { x: 1 });
  assert.equal(r.ok, false);
  if (!r.ok) assert.deepEqual([r.errors[0]!.code, r.errors[0]!.line], ['CONFIG_TEMPLATE_SYNTAX', 2]);
  const unclosed = renderTemplate('{% if x %}\nb = 1\n', { x: true });
  assert.equal(unclosed.ok, false);
  if (!unclosed.ok) assert.match(unclosed.errors[0]!.message, /endif/);
});

test('a missing attribute of a defined variable is reported, not rendered as empty', () => {
  const r = renderTemplate('a = "${ obj.nope }"', { obj: {} });
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.errors[0]!.code, 'CONFIG_UNDEFINED_VARIABLE');
});

test('an undefined variable in a branch that does not run is not an error, as in the original Dispenser', () => {
  const src = [
    '{% if env == "prod" %}key = "${ prod_key }"{% else %}key = "none"{% endif %}',
    '{% if extra is defined and extra != "" %}extra = "${ extra }"{% endif %}',
    'v = "${ "x" if env == "stg" else prod_only }"',
    '{% for h in empty %}${ h } ${ not_set }{% endfor %}',
  ].join('\n');
  assert.deepEqual(renderTemplate(src, { env: 'stg', empty: [] }), { ok: true, text: 'key = "none"\n\nv = "x"\n' });
  // the same branch taken fails, at the name
  const r = renderTemplate(src, { env: 'prod', empty: [] });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(r.errors.map((e) => [e.code, e.line, e.column]), [['CONFIG_UNDEFINED_VARIABLE', 1, 33]]);
});
