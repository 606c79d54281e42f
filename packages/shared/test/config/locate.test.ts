import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyIndex } from '../../src/config/locate.js';
import { buildPositionMap } from '../../src/config/line-map.js';

const TOML = `# comment
delay = 5
[[network]]
name = "a"
[[network]]
name = "b"
[network.labels]
"x.y" = "z"
[proxy]
http_port = 80 # trailing comment
env = { A = "1", B = { C = 2 } }
list = ["a", "b", 3]
multi = """
fake = 1
"""
arr = [
  1,
]
after = true
`;

test('key paths are found at their line and column, arrays of tables counted', () => {
  const index = new KeyIndex(TOML);
  const at = (path: (string | number)[]) => {
    const f = index.find(path);
    return f && { line: f.at.key.line, column: f.at.key.column, exact: f.exact };
  };
  assert.deepEqual(at(['delay']), { line: 2, column: 1, exact: true });
  assert.deepEqual(at(['network', 0, 'name']), { line: 4, column: 1, exact: true });
  assert.deepEqual(at(['network', 1, 'name']), { line: 6, column: 1, exact: true });
  assert.deepEqual(at(['network', 1, 'labels', 'x.y']), { line: 8, column: 1, exact: true });
  assert.deepEqual(at(['network', 1, 'labels']), { line: 7, column: 1, exact: true });
  assert.deepEqual(at(['proxy', 'env', 'B', 'C']), { line: 11, column: 24, exact: true });
  assert.deepEqual(at(['proxy', 'list', 2]), { line: 12, column: 19, exact: true });
  assert.deepEqual(at(['proxy', 'fake']), { line: 9, column: 1, exact: false }, 'keys inside multi-line strings are not keys');
  assert.deepEqual(at(['proxy', 'after']), { line: 19, column: 1, exact: true });
  assert.deepEqual(at(['nope', 'deeper']), undefined);
  const value = index.find(['proxy', 'http_port'])?.at.value;
  assert.deepEqual(value, { line: 10, column: 13, endColumn: 15 }, 'the value span stops before the comment');
});

test('positions in rendered text map back to the template source', () => {
  const source = ['{% for p in paths %}', '[[service]]', 'path = "${ p }"', '{% endfor %}', 'image = "${ reg }/app:${ tag }"', 'bad = = 1'].join('\n');
  const rendered = ['', '[[service]]', 'path = "a"', '', '[[service]]', 'path = "bb"', '', 'image = "registry.example.com/app:1"', 'bad = = 1'].join('\n');
  const map = buildPositionMap(source, rendered);
  assert.deepEqual(map({ line: 6, column: 8 }), { line: 3, column: 8 }, 'a repeated loop body maps to the body line');
  assert.deepEqual(map({ line: 9, column: 7 }), { line: 6, column: 7 });
  assert.deepEqual(map({ line: 8, column: 9, endColumn: 36 }), { line: 5, column: 9, endColumn: 31 }, 'columns after interpolations shift');
  assert.deepEqual(map({ line: 8, column: 15 }), { line: 5, column: 10 }, 'inside interpolated text → the interpolation');
  assert.deepEqual(buildPositionMap('same', 'same')({ line: 1, column: 3 }), { line: 1, column: 3 });
});
