/**
 * The CLI's label-selector parser (src/net/selector.ts) against apimachinery's grammar
 * (k8s.io/apimachinery/pkg/labels/selector.go): what it accepts, and where it says a selector breaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../src/errors.js';
import { parseLabelSelector } from '../src/net/selector.js';
import { matchesSelector } from '../src/sandbox/selectors.js';

const ok: [string, ReturnType<typeof parseLabelSelector>][] = [
  ['', []],
  ['app=web', [{ key: 'app', operator: '=', values: ['web'] }]],
  [' app == web ', [{ key: 'app', operator: '==', values: ['web'] }]],
  ['tier!=db', [{ key: 'tier', operator: '!=', values: ['db'] }]],
  ['env in (a, b)', [{ key: 'env', operator: 'in', values: ['a', 'b'] }]],
  ['env notin (a,)', [{ key: 'env', operator: 'notin', values: ['a', ''] }]],
  ['canary', [{ key: 'canary', operator: 'exists', values: [] }]],
  ['!canary', [{ key: 'canary', operator: '!', values: [] }]],
  ['a=', [{ key: 'a', operator: '=', values: [''] }]],
  ['app.kubernetes.io/name=web', [{ key: 'app.kubernetes.io/name', operator: '=', values: ['web'] }]],
  ['replicas>2', [{ key: 'replicas', operator: '>', values: ['2'] }]],
  [
    'a=b,c in (d),!e',
    [
      { key: 'a', operator: '=', values: ['b'] },
      { key: 'c', operator: 'in', values: ['d'] },
      { key: 'e', operator: '!', values: [] },
    ],
  ],
];
for (const [text, want] of ok)
  test(`accepts ${JSON.stringify(text)}`, () => assert.deepEqual(parseLabelSelector(text), want));

const bad: [string, string][] = [
  ['app in ((', 'expected a value or ")", found "(" at position 9'],
  ['app in ()', 'in needs at least one value at position 9'],
  ['app in (a', 'expected "," or ")", found the end at position 10'],
  ['app in a', 'expected "(" after in, found "a" at position 8'],
  ['a,,b', 'expected a label key, found "," at position 3'],
  ['a=b,', 'expected a requirement after "," at position 5'],
  ['a=b c', 'expected "," or the end, found "c" at position 5'],
  ['!a=b', 'expected "," or the end after !a, found "=" at position 3'],
  ['a>x', '> wants an integer, found "x" at position 3'],
  ['-a=b', 'invalid label key "-a"'],
  ['Bad_/x=1', 'invalid label key "Bad_/x": the prefix must be a DNS-1123 subdomain'],
  [`a=${'v'.repeat(64)}`, 'invalid label value'],
  ['a=(', 'expected a value after =, found "(" at position 3'],
];
for (const [text, why] of bad)
  test(`refuses ${JSON.stringify(text)} as a usage error`, () => {
    assert.throws(
      () => parseLabelSelector(text),
      (e: unknown) => {
        assert.ok(e instanceof UsageError);
        assert.ok(e.message.startsWith(`invalid -l/--selector "${text}": `), e.message);
        assert.ok(e.message.includes(why), e.message);
        return true;
      },
    );
  });

test('what the CLI accepts, the sandbox API server accepts too', () => {
  for (const [text] of ok.filter(([t]) => !/[<>]/.test(t)))
    assert.doesNotThrow(() => matchesSelector(text, {}));
});
