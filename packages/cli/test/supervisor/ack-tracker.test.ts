import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckTracker } from '../../src/supervisor/ack-tracker.js';

type Step = ['publish', 'routes' | 'certs', number] | ['add' | 'remove', number] | ['ack', number, 'routes' | 'certs', number];

const cases: Array<{ name: string; steps: Step[]; applied: Array<{ kind: string; version: number }> }> = [
  { name: 'no workers: a publish is applied at once', steps: [['publish', 'routes', 1]], applied: [{ kind: 'routes', version: 1 }] },
  { name: 'one worker has not acked yet', steps: [['add', 1], ['publish', 'routes', 1]], applied: [] },
  { name: 'every worker acked', steps: [['add', 1], ['add', 2], ['publish', 'routes', 1], ['ack', 1, 'routes', 1], ['ack', 2, 'routes', 1]], applied: [{ kind: 'routes', version: 1 }] },
  { name: 'one of two acked', steps: [['add', 1], ['add', 2], ['publish', 'routes', 1], ['ack', 1, 'routes', 1]], applied: [] },
  {
    name: 'the slowest worker decides the version',
    steps: [['add', 1], ['add', 2], ['publish', 'routes', 3], ['ack', 1, 'routes', 3], ['ack', 2, 'routes', 2]],
    applied: [{ kind: 'routes', version: 2 }],
  },
  {
    name: 'a newer ack covers an older publish',
    steps: [['add', 1], ['publish', 'routes', 1], ['publish', 'routes', 2], ['ack', 1, 'routes', 2]],
    applied: [{ kind: 'routes', version: 2 }],
  },
  {
    name: 'the laggard dies: the rest decide',
    steps: [['add', 1], ['add', 2], ['publish', 'routes', 1], ['ack', 1, 'routes', 1], ['remove', 2]],
    applied: [{ kind: 'routes', version: 1 }],
  },
  {
    name: 'a replacement worker must ack before a new version counts',
    steps: [['add', 1], ['remove', 1], ['add', 1], ['publish', 'routes', 1]],
    applied: [],
  },
  { name: 'kinds are independent', steps: [['add', 1], ['publish', 'routes', 1], ['publish', 'certs', 1], ['ack', 1, 'certs', 1]], applied: [{ kind: 'certs', version: 1 }] },
  { name: 'an ack from an unknown worker counts for nothing', steps: [['add', 1], ['publish', 'routes', 1], ['ack', 7, 'routes', 1]], applied: [] },
  { name: 'acks without a publish report nothing', steps: [['add', 1], ['ack', 1, 'routes', 4]], applied: [] },
];

for (const c of cases) {
  test(`ack aggregation: ${c.name}`, () => {
    const tracker = new AckTracker();
    for (const step of c.steps) {
      if (step[0] === 'publish') tracker.publish(step[1], step[2]);
      else if (step[0] === 'add') tracker.addWorker(step[1]);
      else if (step[0] === 'remove') tracker.removeWorker(step[1]);
      else {
        const [, worker, kind, version] = step as ['ack', number, 'routes' | 'certs', number];
        tracker.ack(worker, kind, version);
      }
    }
    assert.deepEqual(tracker.settle(), c.applied);
  });
}

test('ack aggregation: each version is reported once, then only newer ones', () => {
  const tracker = new AckTracker();
  tracker.addWorker(1);
  tracker.publish('routes', 1);
  tracker.ack(1, 'routes', 1);
  assert.deepEqual(tracker.settle(), [{ kind: 'routes', version: 1 }]);
  assert.deepEqual(tracker.settle(), []);
  tracker.publish('routes', 2);
  assert.deepEqual(tracker.settle(), []);
  tracker.ack(1, 'routes', 2);
  assert.deepEqual(tracker.settle(), [{ kind: 'routes', version: 2 }]);
  assert.equal(tracker.ackedBy(1, 'routes'), 2);
  tracker.addWorker(2);
  assert.equal(tracker.ackedBy(2, 'routes'), -1);
});
